#include "base/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <yaml-cpp/yaml.h>

namespace ferry {
namespace config_internal {

struct Entry;

// The document is copied out of yaml-cpp into this tree at load: interpolation happens once,
// lookups cannot throw, and readers on several threads share nothing mutable.
struct Value {
  enum class Kind { kNull, kScalar, kList, kMapping };
  Kind kind = Kind::kNull;
  int line = 1;
  int column = 1;
  std::string scalar;          // kScalar, interpolated
  std::vector<Entry> entries;  // kMapping, in document order
  std::vector<Value> items;    // kList
};

struct Entry {
  std::string key;
  int line;
  int column;
  Value value;  // a null value is located at its key
};

struct Document {
  std::string source;
  Value root;
};

}  // namespace config_internal

namespace {

using config_internal::Document;
using config_internal::Entry;
using config_internal::Value;
using Kind = config_internal::Value::Kind;

// Bounds on the tree built from the YAML, because an alias can name its own ancestor (a cycle)
// or be repeated exponentially ("billion laughs").
constexpr int kMaxDepth = 64;
constexpr size_t kMaxValues = 1'000'000;

constexpr std::string_view kDurationExample = "a duration such as 250ms, 30s, 10m, 2h or 1d";

std::string JoinPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

std::string ElementPath(std::string_view list, size_t index) {
  return fmt::format("{}[{}]", list, index);
}

Status ConfigError(std::string_view source, int line, int column, std::string_view path,
                   std::string_view what) {
  if (path.empty()) return InvalidArgument("{}:{}:{}: {}", source, line, column, what);
  return InvalidArgument("{}:{}:{}: key `{}`: {}", source, line, column, path, what);
}

std::string Describe(const Value& value) {
  switch (value.kind) {
    case Kind::kNull: return "null";
    case Kind::kList: return "a list";
    case Kind::kMapping: return "a mapping";
    case Kind::kScalar: break;
  }
  constexpr size_t kMaxShown = 60;
  if (value.scalar.size() > kMaxShown) {
    return fmt::format("\"{}...\"", std::string_view(value.scalar).substr(0, kMaxShown));
  }
  return fmt::format("\"{}\"", value.scalar);
}

bool IsVariableName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::ranges::all_of(
      name, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Copies a yaml-cpp tree into a Value tree, interpolating scalars.
class TreeBuilder {
 public:
  TreeBuilder(std::string_view source, Env* env) : source_(source), env_(env) {}

  Result<Value> Build(const YAML::Node& node, const std::string& path, int depth) {
    Value value;
    value.line = node.Mark().line + 1;
    value.column = node.Mark().column + 1;
    if (++values_ > kMaxValues) {
      return Err(ErrorAt(value.line, value.column, path,
                         fmt::format("expected at most {} values, got more; is an "
                                     "alias repeated many times?",
                                     kMaxValues)));
    }
    if (depth > kMaxDepth) {
      return Err(ErrorAt(value.line, value.column, path,
                         fmt::format("expected at most {} levels of nesting, got "
                                     "more; does an alias refer to its own parent?",
                                     kMaxDepth)));
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: break;
      case YAML::NodeType::Scalar: {
        value.kind = Kind::kScalar;
        FERRY_ASSIGN_OR_RETURN(value.scalar,
                               Interpolate(node.Scalar(), value.line, value.column, path));
        break;
      }
      case YAML::NodeType::Sequence: {
        value.kind = Kind::kList;
        for (const YAML::Node& item : node) {
          FERRY_ASSIGN_OR_RETURN(Value child,
                                 Build(item, ElementPath(path, value.items.size()), depth + 1));
          value.items.push_back(std::move(child));
        }
        break;
      }
      case YAML::NodeType::Map: {
        value.kind = Kind::kMapping;
        std::unordered_map<std::string, int> first_line;
        // Bound by value: yaml-cpp's iterator hands out its pair through a temporary proxy.
        for (const auto& pair : node) {
          const YAML::Node& key = pair.first;
          const int key_line = key.Mark().line + 1;
          const int key_column = key.Mark().column + 1;
          if (!key.IsScalar()) {
            std::string_view got = key.IsMap() ? "a mapping" : key.IsSequence() ? "a list" : "null";
            return Err(ErrorAt(key_line, key_column, path,
                               fmt::format("expected a string key, got {}", got)));
          }
          std::string child_path = JoinPath(path, key.Scalar());
          auto [seen, inserted] = first_line.emplace(key.Scalar(), key_line);
          if (!inserted) {
            return Err(
                ErrorAt(key_line, key_column, child_path,
                        fmt::format("expected each key once, got it again (first at line {})",
                                    seen->second)));
          }
          FERRY_ASSIGN_OR_RETURN(Value child, Build(pair.second, child_path, depth + 1));
          if (child.kind == Kind::kNull) {
            child.line = key_line;
            child.column = key_column;
          }
          value.entries.push_back(Entry{.key = key.Scalar(),
                                        .line = key_line,
                                        .column = key_column,
                                        .value = std::move(child)});
        }
        break;
      }
    }
    return value;
  }

 private:
  Status ErrorAt(int line, int column, std::string_view path, std::string_view what) const {
    return ConfigError(source_, line, column, path, what);
  }

  // Errors point at the scalar (`line`, `column`), not into it.
  Result<std::string> Interpolate(std::string_view text, int line, int column,
                                  std::string_view path) const {
    if (text.find('$') == std::string_view::npos) return std::string(text);
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      std::string_view rest = text.substr(i);
      if (rest.starts_with("$${")) {
        out.append("${");
        i += 3;
        continue;
      }
      if (!rest.starts_with("${")) {
        out.push_back(text[i++]);
        continue;
      }
      size_t close = rest.find('}');
      if (close == std::string_view::npos) {
        return Err(ErrorAt(line, column, path,
                           "expected `}` to close `${`, got the end of the value; write $${ for "
                           "a literal ${"));
      }
      std::string_view inner = rest.substr(2, close - 2);
      size_t separator = inner.find(":-");
      std::string_view name = inner.substr(0, separator);
      if (!IsVariableName(name)) {
        return Err(ErrorAt(line, column, path,
                           fmt::format("expected a variable name (letters, digits, _) in "
                                       "`${{{}}}`, got `{}`",
                                       inner, name)));
      }
      std::optional<std::string> variable = env_->GetEnvVar(std::string(name));
      if (separator != std::string_view::npos) {
        if (!variable || variable->empty()) variable = std::string(inner.substr(separator + 2));
      } else if (!variable) {
        return Err(ErrorAt(line, column, path,
                           fmt::format("expected environment variable {0} to be set, got "
                                       "nothing; set it or write ${{{0}:-default}}",
                                       name)));
      }
      out.append(*variable);
      i += close + 1;
    }
    return out;
  }

  std::string_view source_;
  Env* env_;
  size_t values_ = 0;
};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions ("ulr" -> "url"
// is 1), which is the typo most worth catching.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The known key closest to `key`, if it is close enough to be a typo of it: within a third of
// its length (at least one edit), ignoring case.
std::optional<std::string_view> ClosestKey(std::string_view key,
                                           std::initializer_list<std::string_view> known) {
  std::optional<std::string_view> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (std::string_view candidate : known) {
    size_t distance = EditDistance(Lower(key), Lower(candidate));
    if (distance <= std::max<size_t>(1, candidate.size() / 3) && distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

// std::from_chars rejects the leading '+' that people write.
std::string_view StripPlus(std::string_view text) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  return text;
}

int64_t UnitMicros(std::string_view unit) {
  if (unit == "us") return 1;
  if (unit == "ms") return 1'000;
  if (unit == "s") return 1'000'000;
  if (unit == "m") return 60'000'000;
  if (unit == "h") return 3'600'000'000;
  if (unit == "d") return 86'400'000'000;
  return 0;
}

}  // namespace

// ---- ConfigNode

ConfigNode::ConfigNode(std::shared_ptr<const Document> document, const Value* value,
                       std::string path, int line, int column)
    : document_(std::move(document)),
      value_(value),
      path_(std::move(path)),
      line_(line),
      column_(column) {}

std::string ConfigNode::ChildPath(std::string_view key) const { return JoinPath(path_, key); }

Status ConfigNode::ErrorAt(int line, int column, std::string_view path,
                           std::string_view what) const {
  return ConfigError(document_->source, line, column, path, what);
}

Status ConfigNode::Mismatch(const Value& value, std::string_view path,
                            std::string_view expected) const {
  return ErrorAt(value.line, value.column, path,
                 fmt::format("expected {}, got {}", expected, Describe(value)));
}

Result<const Value*> ConfigNode::Mapping() const {
  if (!error_.ok()) return Err(error_);
  if (value_ == nullptr || value_->kind == Kind::kNull) return nullptr;
  if (value_->kind != Kind::kMapping) return Err(Mismatch(*value_, path_, "a mapping"));
  return value_;
}

Result<const Entry*> ConfigNode::EntryAt(std::string_view key) const {
  FERRY_ASSIGN_OR_RETURN(const Value* mapping, Mapping());
  if (mapping == nullptr) return nullptr;
  for (const Entry& entry : mapping->entries) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

Result<const Value*> ConfigNode::ValueAt(std::string_view key) const {
  FERRY_ASSIGN_OR_RETURN(const Entry* entry, EntryAt(key));
  if (entry == nullptr || entry->value.kind == Kind::kNull) return nullptr;
  return &entry->value;
}

Result<const Value*> ConfigNode::ScalarAt(std::string_view key, std::string_view expected) const {
  FERRY_ASSIGN_OR_RETURN(const Value* value, ValueAt(key));
  if (value != nullptr && value->kind != Kind::kScalar) {
    return Err(Mismatch(*value, ChildPath(key), expected));
  }
  return value;
}

bool ConfigNode::Has(std::string_view key) const {
  Result<const Value*> value = ValueAt(key);
  return value.has_value() && *value != nullptr;
}

ConfigNode ConfigNode::Child(std::string_view key) const {
  Result<const Entry*> entry = EntryAt(key);
  if (entry.has_value() && *entry != nullptr) {
    const Value& value = (*entry)->value;
    return ConfigNode(document_, &value, ChildPath(key), value.line, value.column);
  }
  ConfigNode absent(document_, nullptr, ChildPath(key), line_, column_);
  if (!entry.has_value()) absent.error_ = std::move(entry).error();
  return absent;
}

Result<std::optional<std::string>> ConfigNode::GetString(std::string_view key) const {
  FERRY_ASSIGN_OR_RETURN(const Value* value, ScalarAt(key, "a string"));
  if (value == nullptr) return std::nullopt;
  return value->scalar;
}

Result<std::optional<int64_t>> ConfigNode::GetInt(std::string_view key) const {
  constexpr std::string_view kExpected = "an integer";
  FERRY_ASSIGN_OR_RETURN(const Value* value, ScalarAt(key, kExpected));
  if (value == nullptr) return std::nullopt;
  std::string_view text = StripPlus(value->scalar);
  int64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error == std::errc::result_out_of_range) {
    return Err(Mismatch(*value, ChildPath(key), "an integer that fits in 64 bits"));
  }
  if (error != std::errc() || end != text.data() + text.size()) {
    return Err(Mismatch(*value, ChildPath(key), kExpected));
  }
  return number;
}

Result<std::optional<bool>> ConfigNode::GetBool(std::string_view key) const {
  constexpr std::string_view kExpected = "true or false";
  FERRY_ASSIGN_OR_RETURN(const Value* value, ScalarAt(key, kExpected));
  if (value == nullptr) return std::nullopt;
  std::string lower = Lower(value->scalar);
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return Err(Mismatch(*value, ChildPath(key), kExpected));
}

Result<std::optional<double>> ConfigNode::GetDouble(std::string_view key) const {
  constexpr std::string_view kExpected = "a number";
  FERRY_ASSIGN_OR_RETURN(const Value* value, ScalarAt(key, kExpected));
  if (value == nullptr) return std::nullopt;
  std::string_view text = StripPlus(value->scalar);
  double number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(number)) {
    return Err(Mismatch(*value, ChildPath(key), kExpected));
  }
  return number;
}

Result<std::optional<int64_t>> ConfigNode::GetDurationMicros(std::string_view key) const {
  FERRY_ASSIGN_OR_RETURN(const Value* value, ScalarAt(key, kDurationExample));
  if (value == nullptr) return std::nullopt;
  Result<int64_t> micros = ParseDurationMicros(value->scalar);
  if (!micros.has_value()) return Err(Mismatch(*value, ChildPath(key), kDurationExample));
  return *micros;
}

Result<std::vector<std::string>> ConfigNode::GetStringList(std::string_view key) const {
  FERRY_ASSIGN_OR_RETURN(const Value* value, ValueAt(key));
  std::vector<std::string> strings;
  if (value == nullptr) return strings;
  if (value->kind != Kind::kList) return Err(Mismatch(*value, ChildPath(key), "a list of strings"));
  for (const Value& item : value->items) {
    if (item.kind != Kind::kScalar) {
      return Err(Mismatch(item, ElementPath(ChildPath(key), strings.size()), "a string"));
    }
    strings.push_back(item.scalar);
  }
  return strings;
}

Result<std::vector<ConfigNode>> ConfigNode::GetList(std::string_view key) const {
  FERRY_ASSIGN_OR_RETURN(const Value* value, ValueAt(key));
  std::vector<ConfigNode> nodes;
  if (value == nullptr) return nodes;
  if (value->kind != Kind::kList) return Err(Mismatch(*value, ChildPath(key), "a list"));
  for (const Value& item : value->items) {
    nodes.push_back(ConfigNode(document_, &item, ElementPath(ChildPath(key), nodes.size()),
                               item.line, item.column));
  }
  return nodes;
}

Result<std::vector<std::string>> ConfigNode::Keys() const {
  FERRY_ASSIGN_OR_RETURN(const Value* mapping, Mapping());
  std::vector<std::string> keys;
  if (mapping == nullptr) return keys;
  for (const Entry& entry : mapping->entries) keys.push_back(entry.key);
  return keys;
}

Status ConfigNode::CheckKnownKeys(std::initializer_list<std::string_view> known) const {
  FERRY_ASSIGN_OR_RETURN(const Value* mapping, Mapping());
  if (mapping == nullptr) return OkStatus();
  for (const Entry& entry : mapping->entries) {
    if (std::ranges::find(known, entry.key) != known.end()) continue;
    std::string choices;
    for (std::string_view name : known) {
      choices += fmt::format("{}`{}`", choices.empty() ? "" : ", ", name);
    }
    std::string what = known.size() == 0
                           ? fmt::format("expected no keys here, got `{}`", entry.key)
                           : fmt::format("expected one of {}, got `{}`", choices, entry.key);
    if (std::optional<std::string_view> guess = ClosestKey(entry.key, known)) {
      what += fmt::format("; did you mean `{}`?", *guess);
    }
    return ErrorAt(entry.line, entry.column, ChildPath(entry.key), what);
  }
  return OkStatus();
}

Status ConfigNode::Invalid(std::string_view key, std::string_view what) const {
  if (key.empty()) return ErrorAt(line_, column_, path_, what);
  Result<const Entry*> entry = EntryAt(key);
  if (entry.has_value() && *entry != nullptr) {
    return ErrorAt((*entry)->value.line, (*entry)->value.column, ChildPath(key), what);
  }
  return ErrorAt(line_, column_, ChildPath(key), what);
}

// ---- ConfigDocument

ConfigNode ConfigDocument::root() const {
  const Value& root = document_->root;
  return ConfigNode(document_, &root, "", root.line, root.column);
}

const std::string& ConfigDocument::source() const { return document_->source; }

Result<ConfigDocument> LoadConfigFile(const std::string& path, Env* env) {
  Result<std::string> text = env->ReadFile(path);
  if (!text.has_value()) {
    if (text.error().code() == StatusCode::kNotFound) {
      return Err(
          NotFound("config file {} does not exist; create it, or give the path of an "
                   "existing one",
                   path));
    }
    return Err(text.error().WithContext("cannot read config file"));
  }
  return ParseConfig(*text, path, env);
}

Result<ConfigDocument> ParseConfig(std::string_view text, std::string_view source_name, Env* env) {
  auto document = std::make_shared<Document>();
  document->source = source_name;
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    if (documents.size() > 1) {
      const YAML::Mark mark = documents[1].Mark();
      return Err(ConfigError(source_name, mark.line + 1, mark.column + 1, "",
                             fmt::format("expected one YAML document, got {}", documents.size())));
    }
    if (!documents.empty()) {
      TreeBuilder builder(source_name, env);
      FERRY_ASSIGN_OR_RETURN(document->root, builder.Build(documents[0], "", 0));
    }
  } catch (const YAML::Exception& error) {
    if (error.mark.is_null()) {
      return Err(InvalidArgument("{}: invalid YAML: {}", source_name, error.msg));
    }
    return Err(InvalidArgument("{}:{}:{}: invalid YAML: {}", source_name, error.mark.line + 1,
                               error.mark.column + 1, error.msg));
  }
  return ConfigDocument(std::move(document));
}

Result<int64_t> ParseDurationMicros(std::string_view text) {
  auto invalid = [text] {
    return Err(
        InvalidArgument("invalid duration \"{}\": expected a number and a unit (us, ms, s, "
                        "m, h, d) such as 250ms, 30s or 1h30m",
                        text));
  };
  if (text == "0") return 0;
  if (text.empty()) return invalid();
  int64_t total = 0;
  const char* const end = text.data() + text.size();
  for (const char* p = text.data(); p != end;) {
    uint64_t number = 0;
    auto [digits_end, error] = std::from_chars(p, end, number);
    if (digits_end == p) return invalid();
    const char* unit_end = digits_end;
    while (unit_end != end && std::isalpha(static_cast<unsigned char>(*unit_end))) ++unit_end;
    int64_t scale =
        UnitMicros(std::string_view(digits_end, static_cast<size_t>(unit_end - digits_end)));
    if (scale == 0) return invalid();
    if (error == std::errc::result_out_of_range ||
        number > static_cast<uint64_t>((std::numeric_limits<int64_t>::max() - total) / scale)) {
      return Err(
          InvalidArgument("invalid duration \"{}\": too long for a 64-bit count of "
                          "microseconds (about 292,000 years)",
                          text));
    }
    total += static_cast<int64_t>(number) * scale;
    p = unit_end;
  }
  return total;
}

}  // namespace ferry
