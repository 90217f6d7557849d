// A source as a transform spec makes it: the tables under their target names, with their
// columns renamed, cast, hashed, masked, dropped or added, and rows filtered, rejected rows sent
// to a reject file. Copy and verify read through it as through any connector, so that a copy
// loads the transformed rows and a verification compares "the source as transformed" with the
// target (a hashed column is compared as hashed).
//
//   auto spec = TransformSpec::LoadFile("migration.yaml");
//   TransformedSource source(*connector, *spec, rejects.get());
//   Copy(source, *target, options);
//
// Key ranges and key bounds on the output's one-column primary key select rows by the source's
// one-column primary key: a chunk is a set of source rows, whatever the transform makes of them.
// Thread-safety: as the wrapped connector; the compiled transforms are shared read-only.
#ifndef FERRY_MOVE_TRANSFORMED_SOURCE_H_
#define FERRY_MOVE_TRANSFORMED_SOURCE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "connect/connector.h"
#include "move/transform.h"

namespace ferry {

class TransformedSource final : public Connector {
 public:
  // `rejects` may be null: then the first row a transform rejects fails the read.
  TransformedSource(Connector& base, const TransformSpec& spec, RejectSink* rejects);

  std::string_view engine() const override { return base_.engine(); }
  const std::string& location() const override { return base_.location(); }

  // Output names of the source's tables.
  Result<std::vector<std::string>> ListTables() override;
  // `name`: an output name (or a source name the spec does not rename).
  Result<TableInfo> DescribeTable(std::string_view name) override;
  Result<std::unique_ptr<RowReader>> Scan(const ScanSpec& spec) override;
  Result<std::optional<KeyBounds>> GetKeyBounds(const TableInfo& table,
                                                std::string_view column) override;
  Result<SnapshotInfo> ExportSnapshot() override { return base_.ExportSnapshot(); }
  // The source table's pages: a transform maps rows one by one, so a page range of the source
  // is a chunk of the output.
  Result<std::optional<int64_t>> GetPageCount(const TableInfo& table) override;

  // A source is not written to.
  Result<std::unique_ptr<RowWriter>> OpenWriter(const TableInfo& table, LoadMode,
                                                const WriterOptions&) override;
  Status DropTable(std::string_view table) override;

 private:
  struct Compiled {
    std::shared_ptr<const TableTransform> transform;
    std::string output_key;  // the output's and the source's one-column primary keys, or empty
    std::string source_key;
  };
  // Translates a range on the output key to the source key.
  Result<KeyRange> SourceRange(const Compiled& compiled, const KeyRange& range) const;
  Result<const Compiled*> Compile(std::string_view output_name);

  Connector& base_;
  const TransformSpec& spec_;
  RejectSink* const rejects_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Compiled>> compiled_;  // GUARDED_BY(mu_), by output name
};

// What `--spec FILE` sets up for a command: the spec (read once, with a hash of its text for a
// run's fingerprint), checked against the source's tables, its reject sink, and the source as
// the spec makes it. Not movable: the transformed source refers to the rest.
class SpecSource {
 public:
  // `rejects_path` empty: rejected rows are counted and bounded by `max_rejects` (-1: no
  // bound), not written anywhere. `env` nullptr: Env::Default().
  [[nodiscard]] static Result<std::unique_ptr<SpecSource>> Open(Connector& base,
                                                                const std::string& spec_path,
                                                                const std::string& rejects_path,
                                                                int64_t max_rejects, Env* env);

  Connector& connector() { return *source_; }
  RejectSink& rejects() { return *rejects_; }
  // SHA-256 (hex) of the spec file's text.
  const std::string& content_hash() const { return content_hash_; }
  // Source table names as the target knows them (the spec's renames).
  std::vector<std::string> TargetNames(std::vector<std::string> tables) const;

 private:
  SpecSource(TransformSpec spec, std::string content_hash, std::unique_ptr<RejectSink> rejects,
             Connector& base);

  const TransformSpec spec_;
  const std::string content_hash_;
  const std::unique_ptr<RejectSink> rejects_;
  const std::unique_ptr<TransformedSource> source_;
};

}  // namespace ferry

#endif  // FERRY_MOVE_TRANSFORMED_SOURCE_H_
