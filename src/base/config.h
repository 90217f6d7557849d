// YAML configuration files: environment-variable interpolation and errors that point at the
// line and the key.
//
//   FERRY_ASSIGN_OR_RETURN(ConfigDocument config, LoadConfigFile(path, env));
//   ConfigNode store = config.root().Child("store");
//   FERRY_RETURN_IF_ERROR(store.CheckKnownKeys({"url", "pool_size", "timeout"}));
//   FERRY_ASSIGN_OR_RETURN(std::optional<std::string> url, store.GetString("url"));
//   if (!url) return store.Invalid("url", "expected a store URL, got nothing");
//   FERRY_ASSIGN_OR_RETURN(std::optional<int64_t> pool, store.GetInt("pool_size"));
//   int64_t pool_size = pool.value_or(4);
//
// Interpolation. In every scalar value (never in keys) `${VAR}` is replaced by the variable as
// Env::GetEnvVar sees it, `${VAR:-default}` by the default when VAR is unset or empty, and
// `$${` by a literal `${`. It happens once, at load: an unset variable without a default fails
// the load even if nothing reads that key.
//
// Errors are InvalidArgument with the message
//   "<file>:<line>:<column>: key `a.b.c`: expected <what>, got <what>"
// (lines and columns 1-based; list elements are named `a.b[2]`). A YAML syntax error has no key:
//   "<file>:<line>:<column>: invalid YAML: <what yaml-cpp says>".
//
// A key whose value is null (`key:`, `key: ~`) counts as absent. Duplicate keys in a mapping
// are an error, unlike in yaml-cpp.
//
// Thread-safety: a loaded document is immutable. ConfigDocument and ConfigNode share it through
// a reference count, are cheap to copy, outlive each other in any order, and may be used from
// any number of threads.
#ifndef FERRY_BASE_CONFIG_H_
#define FERRY_BASE_CONFIG_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/status.h"

namespace ferry {

namespace config_internal {
struct Document;
struct Entry;
struct Value;
}  // namespace config_internal

// A view of one value in a loaded document, usually a mapping whose keys the getters read.
// A node for a missing key is "absent": its getters return nullopt or empty lists. A node that
// cannot exist because an ancestor is not a mapping (`store: x`, then Child("store").Child("tls"))
// carries that error, and every getter on it returns it.
class ConfigNode {
 public:
  // Dotted path from the root ("store.url", "sources[1].host"); "" for the root.
  const std::string& path() const { return path_; }

  // Whether the mapping has `key` with a non-null value.
  bool Has(std::string_view key) const;
  // The value at `key`, or an absent node whose path still names it.
  ConfigNode Child(std::string_view key) const;

  // The scalar at `key` converted to the type; nullopt when absent. A value of another type
  // (a list for a string, "abc" for an int) is an error naming the key, its line and the type.
  [[nodiscard]] Result<std::optional<std::string>> GetString(std::string_view key) const;
  // Decimal, optionally signed, within int64_t.
  [[nodiscard]] Result<std::optional<int64_t>> GetInt(std::string_view key) const;
  // true/false, yes/no, on/off, in any case.
  [[nodiscard]] Result<std::optional<bool>> GetBool(std::string_view key) const;
  // A finite decimal or scientific number.
  [[nodiscard]] Result<std::optional<double>> GetDouble(std::string_view key) const;
  // A duration as ParseDurationMicros reads it ("250ms", "1h30m").
  [[nodiscard]] Result<std::optional<int64_t>> GetDurationMicros(std::string_view key) const;
  // A list of scalars; empty when absent. A lone scalar is an error, not a list of one.
  [[nodiscard]] Result<std::vector<std::string>> GetStringList(std::string_view key) const;
  // The elements of the list at `key` (typically mappings), in order; empty when absent.
  [[nodiscard]] Result<std::vector<ConfigNode>> GetList(std::string_view key) const;
  // The keys of this mapping in document order; empty when absent.
  [[nodiscard]] Result<std::vector<std::string>> Keys() const;

  // Fails on the first key (in document order) that is not in `known`, at that key's position,
  // listing the known keys and suggesting the closest one when it is a likely typo.
  [[nodiscard]] Status CheckKnownKeys(std::initializer_list<std::string_view> known) const;

  // An InvalidArgument in the form above for a check the caller makes itself:
  //   return node.Invalid("mode", "expected one of copy, cdc, got \"sync\"");
  // It points at the value of `key` if present, else at this node. An empty `key` names this
  // node itself.
  [[nodiscard]] Status Invalid(std::string_view key, std::string_view what) const;

 private:
  friend class ConfigDocument;
  ConfigNode(std::shared_ptr<const config_internal::Document> document,
             const config_internal::Value* value, std::string path, int line, int column);

  std::string ChildPath(std::string_view key) const;
  Status ErrorAt(int line, int column, std::string_view path, std::string_view what) const;
  Status Mismatch(const config_internal::Value& value, std::string_view path,
                  std::string_view expected) const;
  // This node's mapping; nullptr when absent or null; an error when it is not a mapping or
  // cannot exist.
  Result<const config_internal::Value*> Mapping() const;
  // The entry for `key` (its value may be null); nullptr when there is none.
  Result<const config_internal::Entry*> EntryAt(std::string_view key) const;
  // The non-null value at `key`, or nullptr.
  Result<const config_internal::Value*> ValueAt(std::string_view key) const;
  // As ValueAt, but a list or a mapping is an error naming `expected`.
  Result<const config_internal::Value*> ScalarAt(std::string_view key,
                                                 std::string_view expected) const;

  std::shared_ptr<const config_internal::Document> document_;
  const config_internal::Value* value_;  // null when absent
  std::string path_;
  int line_;  // of the value; of the nearest present ancestor when absent
  int column_;
  Status error_;  // why the node cannot exist, when an ancestor is not a mapping
};

// A parsed, interpolated configuration file.
class ConfigDocument {
 public:
  ConfigNode root() const;
  // The file name given at load, used in every error.
  const std::string& source() const;

 private:
  friend Result<ConfigDocument> ParseConfig(std::string_view, std::string_view, Env*);
  explicit ConfigDocument(std::shared_ptr<const config_internal::Document> document)
      : document_(std::move(document)) {}

  std::shared_ptr<const config_internal::Document> document_;
};

// Reads and parses `path` through `env` (not null). A missing file is NotFound naming it.
[[nodiscard]] Result<ConfigDocument> LoadConfigFile(const std::string& path, Env* env);
// Parses one YAML document; `source_name` names it in errors; `env` (not null) supplies
// variables. An empty document is an empty mapping; several documents (`---`) are an error.
[[nodiscard]] Result<ConfigDocument> ParseConfig(std::string_view text,
                                                 std::string_view source_name, Env* env);

// A non-negative duration in microseconds: "0", or one or more <integer><unit> pairs, summed,
// with unit us, ms, s, m, h or d ("250ms", "90s", "1h30m", "1d").
[[nodiscard]] Result<int64_t> ParseDurationMicros(std::string_view text);

}  // namespace ferry

#endif  // FERRY_BASE_CONFIG_H_
