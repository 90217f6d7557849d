#include "move/transformed_source.h"

#include <fmt/format.h>

#include "base/env.h"
#include "base/hash.h"

namespace ferry {

TransformedSource::TransformedSource(Connector& base, const TransformSpec& spec,
                                     RejectSink* rejects)
    : base_(base), spec_(spec), rejects_(rejects) {}

Result<std::vector<std::string>> TransformedSource::ListTables() {
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> tables, base_.ListTables());
  for (std::string& t : tables) t = spec_.TargetTableName(t);
  std::sort(tables.begin(), tables.end());
  return tables;
}

Result<const TransformedSource::Compiled*> TransformedSource::Compile(
    std::string_view output_name) {
  std::lock_guard lock(mu_);
  if (auto it = compiled_.find(std::string(output_name)); it != compiled_.end()) {
    return it->second.get();
  }
  // The source table whose output is `output_name`: a renamed one, or the one of that name.
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> tables, base_.ListTables());
  std::vector<std::string> outputs;
  for (const std::string& t : tables) outputs.push_back(spec_.TargetTableName(t));
  FERRY_ASSIGN_OR_RETURN(std::string resolved, ResolveTable(outputs, output_name, location()));
  const size_t index =
      static_cast<size_t>(std::find(outputs.begin(), outputs.end(), resolved) - outputs.begin());
  FERRY_ASSIGN_OR_RETURN(TableInfo source, base_.DescribeTable(tables[index]));
  FERRY_ASSIGN_OR_RETURN(TableTransform transform, spec_.ForTable(source, base_.engine()));
  auto compiled = std::make_unique<Compiled>();
  compiled->transform = std::make_shared<const TableTransform>(std::move(transform));
  const TableInfo& output = compiled->transform->output();
  // Ranges select source rows by the source's key, which must be an integer to have them.
  const int source_key =
      source.primary_key.size() == 1 ? source.ColumnIndex(source.primary_key[0]) : -1;
  if (output.primary_key.size() == 1 && source_key >= 0 &&
      source.columns[static_cast<size_t>(source_key)].kind == TypeKind::kInt64) {
    compiled->output_key = output.primary_key[0];
    compiled->source_key = source.primary_key[0];
  }
  const Compiled* result = compiled.get();
  compiled_[std::string(output_name)] = std::move(compiled);
  if (resolved != output_name) compiled_[resolved] = std::make_unique<Compiled>(*result);
  return result;
}

Result<TableInfo> TransformedSource::DescribeTable(std::string_view name) {
  FERRY_ASSIGN_OR_RETURN(const Compiled* compiled, Compile(name));
  return compiled->transform->output();
}

Result<KeyRange> TransformedSource::SourceRange(const Compiled& compiled,
                                                const KeyRange& range) const {
  if (compiled.output_key.empty() || !SameIdentifier(range.column, compiled.output_key)) {
    return Err(Unimplemented("{}: table `{}`: ranges are read on the primary key only", location(),
                             compiled.transform->output().name));
  }
  return KeyRange{.column = compiled.source_key, .low = range.low, .high = range.high};
}

Result<std::unique_ptr<RowReader>> TransformedSource::Scan(const ScanSpec& spec) {
  FERRY_ASSIGN_OR_RETURN(const Compiled* compiled, Compile(spec.table->name));
  ScanSpec source_spec = spec;
  source_spec.table = &compiled->transform->source();
  if (spec.range.has_value()) {
    FERRY_ASSIGN_OR_RETURN(source_spec.range, SourceRange(*compiled, *spec.range));
  }
  FERRY_ASSIGN_OR_RETURN(auto reader, base_.Scan(source_spec));
  return TransformRows(std::move(reader), compiled->transform, rejects_);
}

Result<std::optional<KeyBounds>> TransformedSource::GetKeyBounds(const TableInfo& table,
                                                                 std::string_view column) {
  FERRY_ASSIGN_OR_RETURN(const Compiled* compiled, Compile(table.name));
  FERRY_ASSIGN_OR_RETURN(KeyRange range,
                         SourceRange(*compiled, KeyRange{.column = std::string(column)}));
  return base_.GetKeyBounds(compiled->transform->source(), range.column);
}

Result<std::optional<int64_t>> TransformedSource::GetPageCount(const TableInfo& table) {
  FERRY_ASSIGN_OR_RETURN(const Compiled* compiled, Compile(table.name));
  return base_.GetPageCount(compiled->transform->source());
}

Result<std::unique_ptr<RowWriter>> TransformedSource::OpenWriter(const TableInfo& table, LoadMode,
                                                                 const WriterOptions&) {
  return Err(FailedPrecondition("{}: table `{}`: a transformed source is read, not written",
                                location(), table.name));
}

Status TransformedSource::DropTable(std::string_view table) {
  return FailedPrecondition("{}: table `{}`: a transformed source is read, not written", location(),
                            table);
}

Result<std::unique_ptr<SpecSource>> SpecSource::Open(Connector& base, const std::string& spec_path,
                                                     const std::string& rejects_path,
                                                     int64_t max_rejects, Env* env) {
  if (env == nullptr) env = Env::Default();
  // LoadFile resolves key files relative to the spec and names a missing spec; the text is
  // read again for the hash (a spec is small).
  FERRY_ASSIGN_OR_RETURN(TransformSpec spec, TransformSpec::LoadFile(spec_path, env));
  FERRY_ASSIGN_OR_RETURN(std::string text, env->ReadFile(spec_path));
  FERRY_ASSIGN_OR_RETURN(std::vector<std::string> tables, base.ListTables());
  FERRY_RETURN_IF_ERROR(spec.CheckTables(tables));
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<RejectSink> rejects,
                         RejectSink::Open(rejects_path, max_rejects, env));
  return std::unique_ptr<SpecSource>(
      new SpecSource(std::move(spec), Sha256Hex(text), std::move(rejects), base));
}

SpecSource::SpecSource(TransformSpec spec, std::string content_hash,
                       std::unique_ptr<RejectSink> rejects, Connector& base)
    : spec_(std::move(spec)),
      content_hash_(std::move(content_hash)),
      rejects_(std::move(rejects)),
      source_(std::make_unique<TransformedSource>(base, spec_, rejects_.get())) {}

std::vector<std::string> SpecSource::TargetNames(std::vector<std::string> tables) const {
  for (std::string& t : tables) t = spec_.TargetTableName(t);
  return tables;
}

}  // namespace ferry
