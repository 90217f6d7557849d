#include "legacy/layout.h"

#include <fmt/format.h>

namespace ferry::legacy {
namespace {

std::string AlignLeft(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string AlignRight(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

void AppendLayoutLines(const Copybook& cb, const std::vector<std::string>& names, int32_t index,
                       const std::string& indent, int32_t* counter, std::string* out) {
  const Field& f = cb.fields[index];
  if (f.level == 66) return;
  ++*counter;
  std::string attributes;
  if (!f.is_group && f.is_counter) attributes += "D";
  if (f.is_redefined) attributes += "r";
  if (f.redefines >= 0) attributes += "R";
  if (f.has_occurs) attributes += "[]";
  const int32_t start = f.offset + 1;
  const int32_t length = f.layout_size;
  if (!out->empty()) out->push_back('\n');
  *out += AlignLeft(fmt::format("{}{} {}", indent, f.level, names[index]), 39);
  *out += AlignLeft(attributes, 11);
  *out += AlignRight(std::to_string(*counter), 5);
  *out += AlignRight(std::to_string(start), 7);
  *out += AlignRight(std::to_string(start + length - 1), 7);
  *out += AlignRight(std::to_string(length), 7);
  for (int32_t child : f.children) {
    AppendLayoutLines(cb, names, child, indent + "  ", counter, out);
  }
}

std::string_view SignName(SignPosition sign) {
  switch (sign) {
    case SignPosition::kNone: return "none";
    case SignPosition::kLeading: return "leading";
    case SignPosition::kTrailing: return "trailing";
  }
  return "?";
}

}  // namespace

std::string FormatCobrixLayout(const Copybook& copybook, const FillerPolicy* fillers) {
  std::vector<std::string> names =
      OutputNames(copybook, fillers != nullptr ? fillers->naming : FillerNaming::kSequenceNumbers);
  for (size_t i = 0; i < names.size(); ++i) {
    const Field& f = copybook.fields[i];
    if (!f.is_filler) continue;
    const bool named = fillers != nullptr &&
                       (fillers->naming == FillerNaming::kPreviousFieldName ||
                        !(f.is_group ? fillers->drop_group_fillers : fillers->drop_value_fillers));
    if (!named) names[i] = "FILLER";
  }
  std::string lines;
  int32_t counter = 0;
  for (int32_t record : copybook.records) {
    AppendLayoutLines(copybook, names, record, "", &counter, &lines);
  }
  return "-------- FIELD LEVEL/NAME --------- --ATTRIBS--    FLD  START     END  LENGTH\n\n" +
         lines;
}

OrderedJson LayoutJson(const Copybook& copybook) {
  OrderedJson fields = OrderedJson::array();
  for (size_t i = 0; i < copybook.fields.size(); ++i) {
    const Field& f = copybook.fields[i];
    OrderedJson j;
    j["path"] = copybook.Path(static_cast<int32_t>(i));
    j["name"] = f.name;
    j["json_name"] = f.json_name;
    j["level"] = f.level;
    j["line"] = f.line;
    j["offset"] = f.offset;
    j["size"] = f.size;
    j["layout_size"] = f.layout_size;
    j["type"] = ValueTypeName(f.type);
    if (f.is_filler) j["filler"] = true;
    if (!f.is_group && f.level != 66) {
      j["usage"] = UsageName(f.usage);
      if (!f.picture.text.empty()) {
        j["picture"] = f.picture.text;
        j["category"] = PictureCategoryName(f.picture.category);
      }
      if (f.type == ValueType::kDecimal || f.type == ValueType::kInt32 ||
          f.type == ValueType::kInt64) {
        j["precision"] = f.precision;
        j["scale"] = f.scale;
        j["signed"] = f.picture.is_signed;
        if (f.sign != SignPosition::kNone) {
          j["sign"] = SignName(f.sign);
          j["sign_separate"] = f.sign_separate;
        }
      }
      if (f.sync) j["sync"] = true;
      if (f.blank_when_zero) j["blank_when_zero"] = true;
      if (f.justified) j["justified"] = true;
    }
    if (f.has_occurs) {
      OrderedJson occurs = {{"min", f.occurs_min}, {"max", f.occurs_max}};
      if (f.depending_on >= 0) occurs["depending_on"] = copybook.Path(f.depending_on);
      j["occurs"] = std::move(occurs);
    }
    if (f.redefines >= 0) j["redefines"] = copybook.Path(f.redefines);
    if (f.is_counter) j["counter"] = true;
    if (f.level == 66) {
      j["renames"] = copybook.Path(f.renames_first);
      if (f.renames_last != f.renames_first) j["renames_thru"] = copybook.Path(f.renames_last);
    }
    if (!f.conditions.empty()) {
      OrderedJson conditions = OrderedJson::array();
      for (const Condition& c : f.conditions) {
        OrderedJson values = OrderedJson::array();
        for (const ConditionValue& v : c.values) {
          if (v.thru.empty()) {
            values.push_back(v.from);
          } else {
            values.push_back({{"from", v.from}, {"thru", v.thru}});
          }
        }
        conditions.push_back({{"name", c.name}, {"values", std::move(values)}});
      }
      j["conditions"] = std::move(conditions);
    }
    fields.push_back(std::move(j));
  }
  return {{"source", copybook.source_name},
          {"record_size", copybook.record_size()},
          {"fields", std::move(fields)}};
}

}  // namespace ferry::legacy
