// The spec format of docs/iso8583.md: parsing, checks, the built-in specs.
#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "base/json.h"
#include "legacy/codepage.h"
#include "legacy/iso8583.h"
#include "legacy/iso8583_builtin.h"

namespace ferry::legacy::iso8583 {

namespace {

struct NamedEncoding {
  std::string_view name;
  Encoding encoding;
};

constexpr NamedEncoding kValueEncodings[] = {
    {"ascii", Encoding::kAscii},       {"ebcdic", Encoding::kEbcdic},
    {"bcd", Encoding::kBcd},           {"bcd-rpad", Encoding::kBcdRightPad},
    {"binary", Encoding::kBinary},     {"bytes", Encoding::kBinary},
    {"hex", Encoding::kHex},           {"uint-be", Encoding::kUintBig},
    {"uint-le", Encoding::kUintLittle}};
constexpr NamedEncoding kPrefixEncodings[] = {{"ascii", Encoding::kAscii},
                                              {"ebcdic", Encoding::kEbcdic},
                                              {"hex", Encoding::kHex},
                                              {"bcd", Encoding::kBcd},
                                              {"bcd-rpad", Encoding::kBcdRightPad},
                                              {"binary", Encoding::kBinary},
                                              {"binary-le", Encoding::kBinaryLittle}};

std::string_view EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kAscii: return "ascii";
    case Encoding::kEbcdic: return "ebcdic";
    case Encoding::kBcd: return "bcd";
    case Encoding::kBcdRightPad: return "bcd-rpad";
    case Encoding::kBinary: return "binary";
    case Encoding::kBinaryLittle: return "binary-le";
    case Encoding::kHex: return "hex";
    case Encoding::kUintBig: return "uint-be";
    case Encoding::kUintLittle: return "uint-le";
  }
  return "?";
}

template <size_t N>
Result<Encoding> EncodingNamed(const NamedEncoding (&table)[N], std::string_view name,
                               std::string_view where) {
  std::string names;
  for (const NamedEncoding& e : table) {
    if (e.name == name) return e.encoding;
    names += (names.empty() ? "" : ", ") + std::string(e.name);
  }
  return Err(
      InvalidArgument("{}: unknown encoding \"{}\"; expected one of {}", where, name, names));
}

bool EncodingFits(DataType type, Encoding e) {
  switch (type) {
    case DataType::kNumeric:
    case DataType::kTrack:
      return e == Encoding::kAscii || e == Encoding::kEbcdic || e == Encoding::kBcd ||
             e == Encoding::kBcdRightPad;
    case DataType::kSigned:
    case DataType::kText: return e == Encoding::kAscii || e == Encoding::kEbcdic;
    case DataType::kBinary: return e == Encoding::kBinary || e == Encoding::kHex;
    case DataType::kUnsigned: return e == Encoding::kUintBig || e == Encoding::kUintLittle;
  }
  return false;
}

Result<DataType> TypeNamed(std::string_view name, std::string_view where) {
  if (name == "n") return DataType::kNumeric;
  if (name == "z") return DataType::kTrack;
  if (name == "x+n") return DataType::kSigned;
  if (name == "b") return DataType::kBinary;
  if (name == "uint") return DataType::kUnsigned;
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return c == 'a' || c == 'n' || c == 's' || c == 'p';
      })) {
    return DataType::kText;
  }
  return Err(InvalidArgument(
      "{}: unknown type \"{}\"; expected n, z, x+n, b, uint, or a text class made of a, n, s, p "
      "(a, an, ans, ns, anp, ...)",
      where, name));
}

// The units a prefix of `digits` characters (or bytes) can count up to.
int64_t PrefixCapacity(int digits, Encoding e) {
  int64_t base = 10;
  if (e == Encoding::kHex) base = 16;
  if (e == Encoding::kBinary || e == Encoding::kBinaryLittle) base = 256;
  int64_t capacity = 1;
  for (int i = 0; i < digits && capacity < (int64_t{1} << 40); ++i) capacity *= base;
  return capacity - 1;
}

struct Defaults {
  Encoding numeric = Encoding::kAscii;
  Encoding text = Encoding::kAscii;
  Encoding track = Encoding::kAscii;
  Encoding binary = Encoding::kBinary;
  Encoding prefix = Encoding::kAscii;
  // A prefix as wide as the maximum needs in its base (hex: ..11 is one digit) rather than
  // one digit per dot of the notation.
  bool prefix_fit = false;
};

// The digits (bytes, for binary) a prefix needs to count up to `max`.
int FitDigits(int64_t max, Encoding e) {
  int64_t base = 10;
  if (e == Encoding::kHex) base = 16;
  if (e == Encoding::kBinary || e == Encoding::kBinaryLittle) base = 256;
  int digits = 1;
  for (int64_t v = max / base; v > 0; v /= base) ++digits;
  return digits;
}

Result<int> PositiveInt(const Json& value, std::string_view where, std::string_view key,
                        int low = 1) {
  if (!value.is_number_integer() || value.get<int64_t>() < low || value.get<int64_t>() > 1 << 24) {
    return Err(InvalidArgument("{}: \"{}\" must be an integer from {} to {}, not {}", where, key,
                               low, 1 << 24, value.dump()));
  }
  return static_cast<int>(value.get<int64_t>());
}

}  // namespace

std::string FieldSpec::Describe() const {
  switch (rule) {
    case LengthRule::kFixed:
      if (type == DataType::kUnsigned) return fmt::format("{} {}", EncodingName(encoding), length);
      // ISO 8583:1987 writes fixed b fields in bits.
      return fmt::format("{} {}", type_name, type == DataType::kBinary ? length * 8 : length);
    case LengthRule::kPrefixed:
      return fmt::format("{}{}{}", type_name, std::string(prefix_digits, '.'), length);
    case LengthRule::kFromField:
      return fmt::format("{}, length from another field{}", type_name,
                         length_adjust == 0 ? "" : fmt::format(" {:+}", length_adjust));
    case LengthRule::kRest: return fmt::format("{}, rest of the message", type_name);
  }
  return type_name;
}

std::string FieldSpec::Label() const {
  return number > 0 && key == std::to_string(number) ? fmt::format("field {}", number)
                                                     : fmt::format("field `{}`", key);
}

class SpecParser {
 public:
  explicit SpecParser(std::string source) : source_(std::move(source)) {}

  Result<std::shared_ptr<const Spec>> Build(const Json& doc) {
    auto spec = std::make_shared<Spec>();
    if (!doc.is_object()) return Err(InvalidArgument("{}: a spec is a JSON object", source_));
    static constexpr std::string_view kKeys[] = {"name",   "description", "layout",   "mti",
                                                 "bitmap", "defaults",    "codepage", "fields",
                                                 "base",   "note"};
    for (const auto& [key, value] : doc.items()) {
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
        return Err(InvalidArgument(
            "{}: unknown key \"{}\"; a spec has name, description, layout, mti, bitmap, defaults, "
            "codepage, fields",
            source_, key));
      }
    }
    spec->name_ = doc.value("name", source_);
    const std::string layout = doc.value("layout", "bitmap");
    if (layout != "bitmap" && layout != "sequential") {
      return Err(InvalidArgument("{}: \"layout\" is \"bitmap\" or \"sequential\", not \"{}\"",
                                 source_, layout));
    }
    spec->bitmapped_ = layout == "bitmap";
    const std::string codepage = doc.value("codepage", "ibm-037");
    Result<const CodePage*> page = CodePage::Get(codepage);
    if (!page.has_value()) return Err(page.error().WithContext(source_ + ": \"codepage\""));
    if (!(*page)->is_ebcdic()) {
      return Err(
          InvalidArgument("{}: \"codepage\" {} is not an EBCDIC code page", source_, codepage));
    }
    spec->codepage_ = *page;

    Defaults defaults;
    if (doc.contains("defaults")) {
      const Json& d = doc["defaults"];
      if (!d.is_object())
        return Err(InvalidArgument("{}: \"defaults\" must be an object", source_));
      for (const auto& [key, value] : d.items()) {
        const std::string where = fmt::format("{}: defaults.{}", source_, key);
        if (!value.is_string()) return Err(InvalidArgument("{} must be a string", where));
        const std::string name = value.get<std::string>();
        Encoding* slot = nullptr;
        DataType type = DataType::kText;
        if (key == "numeric") slot = &defaults.numeric, type = DataType::kNumeric;
        if (key == "text") slot = &defaults.text, type = DataType::kText;
        if (key == "track") slot = &defaults.track, type = DataType::kTrack;
        if (key == "binary") slot = &defaults.binary, type = DataType::kBinary;
        if (key == "prefix") {
          FERRY_ASSIGN_OR_RETURN(defaults.prefix, EncodingNamed(kPrefixEncodings, name, where));
          continue;
        }
        if (key == "prefix_width") {
          if (name != "notation" && name != "fit") {
            return Err(
                InvalidArgument("{}: \"notation\" (one digit per dot) or \"fit\" (as many "
                                "digits as the maximum needs in the prefix's base), not "
                                "\"{}\"",
                                where, name));
          }
          defaults.prefix_fit = name == "fit";
          continue;
        }
        if (slot == nullptr) {
          return Err(
              InvalidArgument("{}: unknown key; defaults has numeric, text, track, binary, "
                              "prefix, prefix_width",
                              where));
        }
        FERRY_ASSIGN_OR_RETURN(*slot, EncodingNamed(kValueEncodings, name, where));
        if (!EncodingFits(type, *slot)) {
          return Err(InvalidArgument("{}: {} does not suit {} fields", where, name, key));
        }
      }
    }

    if (spec->bitmapped_) {
      if (doc.contains("mti")) {
        const Json& m = doc["mti"];
        const std::string where = source_ + ": mti.encoding";
        if (!m.is_object() || !m.value("encoding", Json("ascii")).is_string()) {
          return Err(InvalidArgument("{}: \"mti\" is {{\"encoding\": \"ascii\"}} (or ebcdic, bcd)",
                                     source_));
        }
        FERRY_ASSIGN_OR_RETURN(spec->mti_encoding_,
                               EncodingNamed(kValueEncodings, m.value("encoding", "ascii"), where));
        if (!EncodingFits(DataType::kNumeric, spec->mti_encoding_) ||
            spec->mti_encoding_ == Encoding::kBcdRightPad) {
          return Err(InvalidArgument("{}: the MTI is ascii, ebcdic or bcd", where));
        }
      }
      if (doc.contains("bitmap")) {
        const Json& b = doc["bitmap"];
        if (!b.is_object())
          return Err(InvalidArgument("{}: \"bitmap\" must be an object", source_));
        for (const auto& [key, value] : b.items()) {
          if (key == "encoding") {
            const std::string where = source_ + ": bitmap.encoding";
            if (!value.is_string()) return Err(InvalidArgument("{}: binary or hex", where));
            FERRY_ASSIGN_OR_RETURN(spec->bitmap_encoding_,
                                   EncodingNamed(kValueEncodings, value.get<std::string>(), where));
            if (spec->bitmap_encoding_ != Encoding::kBinary &&
                spec->bitmap_encoding_ != Encoding::kHex) {
              return Err(InvalidArgument("{}: a bitmap is binary or hex", where));
            }
          } else if (key == "max") {
            FERRY_ASSIGN_OR_RETURN(spec->max_bitmaps_,
                                   PositiveInt(value, source_ + ": bitmap", "max"));
            if (spec->max_bitmaps_ > 3) {
              return Err(InvalidArgument("{}: bitmap.max is 1, 2 or 3", source_));
            }
          } else {
            return Err(
                InvalidArgument("{}: bitmap has encoding and max, not \"{}\"", source_, key));
          }
        }
      }
    } else if (doc.contains("mti") || doc.contains("bitmap")) {
      return Err(InvalidArgument("{}: a sequential spec has no \"mti\" or \"bitmap\"", source_));
    }

    spec->index_.fill(-1);
    if (!doc.contains("fields")) return Err(InvalidArgument("{}: \"fields\" is missing", source_));
    const Json& fields = doc["fields"];
    if (spec->bitmapped_) {
      if (!fields.is_object()) {
        return Err(InvalidArgument(
            "{}: \"fields\" of a bitmap spec is an object keyed by field number", source_));
      }
      std::vector<std::pair<int, const Json*>> numbered;
      for (const auto& [key, value] : fields.items()) {
        int number = 0;
        auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), number);
        const int limit = spec->max_bitmaps_ * 64;
        if (ec != std::errc() || end != key.data() + key.size() || number < 2 || number > limit) {
          return Err(InvalidArgument(
              "{}: fields.{}: a field number is 2 to {} (field 1 is the secondary bitmap{})",
              source_, key, limit, spec->max_bitmaps_ == 3 ? ", 65 the tertiary one" : ""));
        }
        if (spec->max_bitmaps_ == 3 && number == 65) {
          return Err(InvalidArgument(
              "{}: fields.65: with \"max\": 3 bitmaps bit 65 announces the tertiary bitmap and "
              "cannot be a field; remove field 65 or use 2 bitmaps",
              source_));
        }
        if (value.is_null()) continue;  // removed by a merge patch
        numbered.emplace_back(number, &value);
      }
      std::sort(numbered.begin(), numbered.end());
      for (const auto& [number, value] : numbered) {
        FieldSpec field;
        field.number = number;
        field.key = std::to_string(number);
        FERRY_RETURN_IF_ERROR(
            ParseField(*value, source_ + ": fields." + field.key, defaults, nullptr, &field));
        spec->index_[number] = static_cast<int16_t>(spec->layout_.fields.size());
        spec->layout_.fields.push_back(std::move(field));
      }
    } else {
      FERRY_RETURN_IF_ERROR(ParseSequence(fields, source_ + ": fields", defaults, &spec->layout_));
      if (spec->layout_.fields.size() > kMaxFields) {
        return Err(
            InvalidArgument("{}: a sequential spec has at most {} fields", source_, kMaxFields));
      }
      for (size_t i = 0; i < spec->layout_.fields.size(); ++i) {
        spec->index_[i + 1] = static_cast<int16_t>(i);
      }
    }
    return std::shared_ptr<const Spec>(std::move(spec));
  }

 private:
  Status ParseSequence(const Json& fields, const std::string& where, const Defaults& defaults,
                       Layout* layout) {
    if (!fields.is_array() || fields.empty()) {
      return InvalidArgument("{}: a sequential layout's fields are a non-empty array of objects",
                             where);
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      const Json& value = fields[i];
      const std::string at = fmt::format("{}[{}]", where, i);
      if (!value.is_object() || !value.contains("name") || !value["name"].is_string() ||
          value["name"].get<std::string>().empty()) {
        return InvalidArgument("{}: each field of a sequential layout has a \"name\"", at);
      }
      FieldSpec field;
      field.number = static_cast<int>(i + 1);
      field.key = value["name"].get<std::string>();
      for (const FieldSpec& other : layout->fields) {
        if (other.key == field.key) {
          return InvalidArgument("{}: the name \"{}\" is used twice", at, field.key);
        }
      }
      FERRY_RETURN_IF_ERROR(
          ParseField(value, at + " (" + field.key + ")", defaults, layout, &field));
      if (field.rule == LengthRule::kRest && i + 1 != fields.size()) {
        return InvalidArgument("{}: only the last field can take the rest of the message", at);
      }
      layout->fields.push_back(std::move(field));
    }
    return OkStatus();
  }

  // `siblings`: the fields before this one in a sequential layout (for "length_field").
  Status ParseField(const Json& value, const std::string& where, const Defaults& defaults,
                    const Layout* siblings, FieldSpec* field) {
    if (!value.is_object()) return InvalidArgument("{}: a field is a JSON object", where);
    static constexpr std::string_view kKeys[] = {"name",         "format",
                                                 "type",         "length",
                                                 "max",          "prefix",
                                                 "encoding",     "prefix_encoding",
                                                 "length_field", "length_adjust",
                                                 "rest",         "mask",
                                                 "tlv",          "date",
                                                 "subfields",    "description",
                                                 "note",         "pad"};
    for (const auto& [key, v] : value.items()) {
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
        return InvalidArgument(
            "{}: unknown key \"{}\"; a field has name, format (or type with length, max, prefix, "
            "length_field, rest), encoding, prefix_encoding, length_adjust, mask, tlv, date, pad, "
            "subfields",
            where, key);
      }
    }
    auto string_of = [&](std::string_view key, std::string* out) -> Status {
      if (!value.contains(key)) return OkStatus();
      if (!value[key].is_string())
        return InvalidArgument("{}: \"{}\" must be a string", where, key);
      *out = value[key].get<std::string>();
      return OkStatus();
    };
    std::string name, format, type, prefix, encoding, prefix_encoding, length_field, mask, tlv, pad;
    FERRY_RETURN_IF_ERROR(string_of("name", &name));
    FERRY_RETURN_IF_ERROR(string_of("format", &format));
    FERRY_RETURN_IF_ERROR(string_of("type", &type));
    FERRY_RETURN_IF_ERROR(string_of("prefix", &prefix));
    FERRY_RETURN_IF_ERROR(string_of("encoding", &encoding));
    FERRY_RETURN_IF_ERROR(string_of("prefix_encoding", &prefix_encoding));
    FERRY_RETURN_IF_ERROR(string_of("length_field", &length_field));
    FERRY_RETURN_IF_ERROR(string_of("mask", &mask));
    FERRY_RETURN_IF_ERROR(string_of("tlv", &tlv));
    FERRY_RETURN_IF_ERROR(string_of("date", &field->date));
    FERRY_RETURN_IF_ERROR(string_of("pad", &pad));
    field->name = name;

    int length = -1, max = -1;
    if (value.contains("length")) {
      FERRY_ASSIGN_OR_RETURN(length, PositiveInt(value["length"], where, "length"));
    }
    if (value.contains("max")) {
      FERRY_ASSIGN_OR_RETURN(max, PositiveInt(value["max"], where, "max"));
    }
    const bool rest = value.contains("rest") && value["rest"] == Json(true);
    if (value.contains("rest") && !value["rest"].is_boolean()) {
      return InvalidArgument("{}: \"rest\" is true or false", where);
    }

    if (!format.empty()) {
      if (!type.empty() || length >= 0 || max >= 0 || !prefix.empty()) {
        return InvalidArgument(
            "{}: give either \"format\" (\"n..19\") or \"type\" with "
            "\"length\"/\"max\"/\"prefix\", "
            "not both",
            where);
      }
      // ISO notation: TYPE then " N" (fixed) or one dot per prefix digit then the maximum.
      const size_t cut = format.find_first_of(" .");
      if (cut == std::string::npos || cut == 0) {
        return InvalidArgument("{}: format \"{}\" is not \"n 6\", \"ans..25\" or \"b...999\"",
                               where, format);
      }
      type = format.substr(0, cut);
      size_t pos = cut;
      int dots = 0;
      if (format[pos] == ' ') {
        ++pos;
      } else {
        while (pos < format.size() && format[pos] == '.') ++pos, ++dots;
      }
      int n = 0;
      auto [end, ec] = std::from_chars(format.data() + pos, format.data() + format.size(), n);
      if (ec != std::errc() || end != format.data() + format.size() || n < 1 || dots > 4) {
        return InvalidArgument(
            "{}: format \"{}\" is not TYPE N (fixed) or TYPE..N / TYPE...N (LL, LLL prefix)", where,
            format);
      }
      if (dots == 0) {
        length = n;
        // ISO 8583:1987 counts fixed b fields in bits ("b 64").
        if (type == "b") {
          if (n % 8 != 0) {
            return InvalidArgument(
                "{}: format \"{}\": a fixed b field is written in bits, a "
                "multiple of 8",
                where, format);
          }
          length = n / 8;
        }
      } else {
        max = n;
        prefix = std::string(dots, 'L');
      }
    }

    if (type.empty()) {
      // A sequential draft may give only an encoding: the type follows from it.
      if (encoding == "uint-be" || encoding == "uint-le") {
        type = "uint";
      } else if (encoding == "binary" || encoding == "bytes" || encoding == "hex") {
        type = "b";
      } else if (!encoding.empty()) {
        type = "ans";
      } else {
        return InvalidArgument("{}: give \"format\" (\"n 6\") or \"type\" (or an \"encoding\")",
                               where);
      }
    }
    field->type_name = type;
    FERRY_ASSIGN_OR_RETURN(field->type, TypeNamed(type, where));
    if (encoding.empty()) {
      switch (field->type) {
        case DataType::kNumeric:
        case DataType::kSigned: field->encoding = defaults.numeric; break;
        case DataType::kText: field->encoding = defaults.text; break;
        case DataType::kTrack: field->encoding = defaults.track; break;
        case DataType::kBinary: field->encoding = defaults.binary; break;
        case DataType::kUnsigned: field->encoding = Encoding::kUintBig; break;
      }
      // x+n has no packed form: its sign is a character.
      if (field->type == DataType::kSigned && !EncodingFits(field->type, field->encoding)) {
        field->encoding = defaults.text;
      }
    } else {
      FERRY_ASSIGN_OR_RETURN(field->encoding, EncodingNamed(kValueEncodings, encoding, where));
    }
    if (!EncodingFits(field->type, field->encoding)) {
      return InvalidArgument(
          "{}: encoding {} does not suit type {} (n and z: ascii, ebcdic, bcd, bcd-rpad; text and "
          "x+n: ascii, ebcdic; b: binary, hex; uint: uint-be, uint-le)",
          where, EncodingName(field->encoding), type);
    }

    const int rules = (length >= 0 && prefix.empty() ? 1 : 0) + (!prefix.empty() ? 1 : 0) +
                      (!length_field.empty() ? 1 : 0) + (rest ? 1 : 0);
    if (rules != 1) {
      return InvalidArgument(
          "{}: give exactly one length rule: \"length\" (fixed), \"prefix\" with \"max\", "
          "\"length_field\", or \"rest\": true",
          where);
    }
    if (!prefix.empty()) {
      if (prefix.size() > 4 || prefix.find_first_not_of('L') != std::string::npos) {
        return InvalidArgument("{}: prefix \"{}\" is L, LL, LLL or LLLL", where, prefix);
      }
      if (max < 0 && length >= 0) {
        return InvalidArgument("{}: a prefixed field has a \"max\", not a \"length\"", where);
      }
      if (max < 0) return InvalidArgument("{}: a prefixed field needs \"max\"", where);
      field->rule = LengthRule::kPrefixed;
      field->prefix_digits = static_cast<int>(prefix.size());
      field->length = max;
      field->prefix_encoding = defaults.prefix;
      if (!prefix_encoding.empty()) {
        FERRY_ASSIGN_OR_RETURN(field->prefix_encoding,
                               EncodingNamed(kPrefixEncodings, prefix_encoding, where));
      }
      if (defaults.prefix_fit) field->prefix_digits = FitDigits(max, field->prefix_encoding);
      const int64_t capacity = PrefixCapacity(field->prefix_digits, field->prefix_encoding);
      if (max > capacity) {
        return InvalidArgument(
            "{}: a {} prefix in {} counts up to {}, less than the maximum {}; use a longer prefix",
            where, prefix, EncodingName(field->prefix_encoding), capacity, max);
      }
    } else if (!length_field.empty()) {
      if (siblings == nullptr) {
        return InvalidArgument(
            "{}: \"length_field\" names an earlier field of a sequential layout "
            "or composite",
            where);
      }
      auto it = std::find_if(siblings->fields.begin(), siblings->fields.end(),
                             [&](const FieldSpec& f) { return f.key == length_field; });
      if (it == siblings->fields.end()) {
        return InvalidArgument("{}: length_field \"{}\" is not an earlier field", where,
                               length_field);
      }
      if (it->type != DataType::kUnsigned && it->type != DataType::kNumeric) {
        return InvalidArgument("{}: length_field \"{}\" is not a uint or n field", where,
                               length_field);
      }
      field->rule = LengthRule::kFromField;
      field->length_field = static_cast<int>(it - siblings->fields.begin());
      field->length = std::max(max, 0);
      if (value.contains("length_adjust")) {
        if (!value["length_adjust"].is_number_integer()) {
          return InvalidArgument("{}: \"length_adjust\" is an integer", where);
        }
        field->length_adjust = value["length_adjust"].get<int64_t>();
      }
    } else if (rest) {
      if (siblings == nullptr) {
        return InvalidArgument("{}: \"rest\" is for the last field of a sequential layout", where);
      }
      field->rule = LengthRule::kRest;
      field->length = std::max(max, 0);
    } else {
      if (max >= 0) return InvalidArgument("{}: a fixed field has \"length\", not \"max\"", where);
      field->rule = LengthRule::kFixed;
      field->length = length;
    }
    if (value.contains("length_adjust") && field->rule != LengthRule::kFromField) {
      return InvalidArgument("{}: \"length_adjust\" goes with \"length_field\"", where);
    }
    if (field->type == DataType::kUnsigned &&
        (field->rule != LengthRule::kFixed || field->length > 8)) {
      return InvalidArgument("{}: a uint field has a fixed \"length\" of 1 to 8 bytes", where);
    }

    if (!pad.empty()) {
      if (field->encoding != Encoding::kBcd && field->encoding != Encoding::kBcdRightPad) {
        return InvalidArgument("{}: \"pad\" is the padding nibble of a BCD field", where);
      }
      if (pad != "0" && pad != "F" && pad != "f") {
        return InvalidArgument("{}: \"pad\" is \"0\" or \"F\", not \"{}\"", where, pad);
      }
      field->pad_nibble = pad == "0" ? 0 : 0xF;
    }
    if (!mask.empty()) {
      if (mask == "pan") {
        field->mask = Mask::kPan;
      } else if (mask == "track2") {
        field->mask = Mask::kTrack2;
      } else if (mask == "track1") {
        field->mask = Mask::kTrack1;
      } else {
        return InvalidArgument("{}: mask is pan, track2 or track1, not \"{}\"", where, mask);
      }
      if (field->type == DataType::kBinary || field->type == DataType::kUnsigned) {
        return InvalidArgument("{}: a mask applies to text, n and z fields", where);
      }
    }
    if (!tlv.empty()) {
      if (tlv != "ber") return InvalidArgument("{}: tlv is \"ber\", not \"{}\"", where, tlv);
      if (field->type != DataType::kBinary) {
        return InvalidArgument("{}: a BER-TLV field has type b", where);
      }
      field->tlv = true;
    }
    if (value.contains("subfields")) {
      if (field->tlv)
        return InvalidArgument("{}: a field is TLV or has subfields, not both", where);
      if (field->type == DataType::kUnsigned) {
        return InvalidArgument("{}: a uint field has no subfields", where);
      }
      // Sub-fields read the field's decoded value: characters for text, bytes for b.
      Defaults inner;
      auto layout = std::make_shared<Layout>();
      FERRY_RETURN_IF_ERROR(
          ParseSequence(value["subfields"], where + ".subfields", inner, layout.get()));
      field->subfields = std::move(layout);
    }
    return OkStatus();
  }

  std::string source_;
};

namespace {

// A document with "base" is an RFC 7396 merge patch over that built-in spec (which may itself
// have a base).
Result<Json> ResolveBase(const Json& document, std::string_view source, int depth) {
  if (!document.is_object() || !document.contains("base")) return document;
  if (!document["base"].is_string() || depth > 4) {
    return Err(InvalidArgument("{}: \"base\" names a built-in spec ({})", source,
                               fmt::join(Spec::BuiltInNames(), ", ")));
  }
  const std::string base_name = document["base"].get<std::string>();
  Result<std::string_view> base_text = Spec::BuiltInText(base_name);
  if (!base_text.has_value()) return Err(base_text.error().WithContext(std::string(source)));
  FERRY_ASSIGN_OR_RETURN(Json base, ParseJson(*base_text, base_name));
  FERRY_ASSIGN_OR_RETURN(Json merged, ResolveBase(base, base_name, depth + 1));
  Json patch = document;
  patch.erase("base");
  merged.merge_patch(patch);
  return merged;
}

}  // namespace

Result<std::shared_ptr<const Spec>> Spec::FromJson(const Json& document,
                                                   std::string_view source_name) {
  FERRY_ASSIGN_OR_RETURN(Json resolved, ResolveBase(document, source_name, 0));
  return SpecParser(std::string(source_name)).Build(resolved);
}

Result<std::shared_ptr<const Spec>> Spec::Parse(std::string_view json_text,
                                                std::string_view source_name) {
  FERRY_ASSIGN_OR_RETURN(Json document, ParseJson(json_text, source_name));
  return FromJson(document, source_name);
}

std::vector<std::string> Spec::BuiltInNames() {
  std::vector<std::string> names;
  for (int i = 0; i < kBuiltInSpecCount; ++i) names.emplace_back(kBuiltInSpecTexts[i].name);
  return names;
}

Result<std::string_view> Spec::BuiltInText(std::string_view name) {
  for (int i = 0; i < kBuiltInSpecCount; ++i) {
    if (kBuiltInSpecTexts[i].name == name) return kBuiltInSpecTexts[i].text;
  }
  return Err(NotFound("no built-in ISO 8583 spec \"{}\"; the built-in ones are {}", name,
                      fmt::join(BuiltInNames(), ", ")));
}

Result<std::shared_ptr<const Spec>> Spec::BuiltIn(std::string_view name) {
  FERRY_ASSIGN_OR_RETURN(std::string_view text, BuiltInText(name));
  return Parse(text, fmt::format("built-in spec {}", name));
}

Result<std::shared_ptr<const Spec>> Spec::Load(std::string_view name_or_path) {
  if (BuiltInText(name_or_path).has_value()) return BuiltIn(name_or_path);
  std::ifstream in{std::string(name_or_path), std::ios::binary};
  if (!in) {
    return Err(NotFound("spec {}: no such file, and not a built-in spec ({})", name_or_path,
                        fmt::join(BuiltInNames(), ", ")));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), name_or_path);
}

const FieldSpec* Spec::FindKey(std::string_view key) const {
  for (const FieldSpec& f : layout_.fields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

}  // namespace ferry::legacy::iso8583
