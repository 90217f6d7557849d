#include "legacy/record_decoder.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "legacy/number_text.h"

namespace ferry::legacy {

struct RecordDecoder::Plan {
  std::string name;  // output name
  std::string key;   // "\"NAME\":"
  bool emit = false;
  bool visit = false;         // decoded even when not emitted: it holds a counter
  int32_t segment_rule = -1;  // index into options_.segment_redefines
  const std::map<std::string, int32_t>* mapping = nullptr;  // occurs_mappings of this array
  bool non_terminal = false;
  std::string nt_name, nt_key;
  Field nt_field;  // the group's bytes as one text field
};

namespace {

std::string QuotedKey(const std::string& name) {
  std::string key = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') key.push_back('\\');
    key.push_back(c);
  }
  key += "\":";
  return key;
}

// Output to compact JSON text.
class TextOut {
 public:
  explicit TextOut(std::string* out) : out_(out) {}
  void Key(const std::string&, const std::string& quoted) {
    Separate();
    out_->append(quoted);
  }
  void Element() { Separate(); }
  void BeginObject() {
    out_->push_back('{');
    first_ = true;
  }
  void EndObject() {
    out_->push_back('}');
    first_ = false;
  }
  void BeginArray() {
    out_->push_back('[');
    first_ = true;
  }
  void EndArray() {
    out_->push_back(']');
    first_ = false;
  }
  void Scalar(const Value& value) {
    if (value.kind == Value::Kind::kText) {
      out_->push_back('"');
      for (uint8_t b : value.text) {
        std::string_view escaped = value.code_page->JsonEscaped(b);
        if (escaped.size() == 1) {
          out_->push_back(escaped[0]);
        } else {
          out_->append(escaped);
        }
      }
      out_->push_back('"');
    } else {
      AppendJsonValue(value, out_);
    }
    first_ = false;
  }
  void Integer(int64_t v) {
    fmt::format_to(std::back_inserter(*out_), "{}", v);
    first_ = false;
  }
  void String(std::string_view s) {
    out_->push_back('"');
    out_->append(s);
    out_->push_back('"');
    first_ = false;
  }
  void Null() {
    out_->append("null");
    first_ = false;
  }

 private:
  void Separate() {
    if (!first_) out_->push_back(',');
    first_ = false;
  }
  std::string* out_;
  bool first_ = true;
};

// Output to an OrderedJson value.
class TreeOut {
 public:
  void Key(const std::string& name, const std::string&) { key_ = &name; }
  void Element() {}
  void BeginObject() { Open(OrderedJson::object()); }
  void EndObject() { stack_.pop_back(); }
  void BeginArray() { Open(OrderedJson::array()); }
  void EndArray() { stack_.pop_back(); }
  void Scalar(const Value& value) {
    OrderedJson& slot = Slot();
    switch (value.kind) {
      case Value::Kind::kNull: slot = nullptr; return;
      case Value::Kind::kText: {
        std::string text;
        for (uint8_t b : value.text) text.append(value.code_page->Utf8(b));
        slot = std::move(text);
        return;
      }
      case Value::Kind::kNumber: {
        std::string text;
        AppendDecimal(value.negative, value.digits, value.scale, &text);
        int64_t v = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (value.scale <= 0 && ec == std::errc() && ptr == text.data() + text.size()) {
          slot = v;
        } else {
          slot = std::move(text);
        }
        return;
      }
      case Value::Kind::kFloat:
      case Value::Kind::kDouble: slot = value.real; return;
    }
  }
  void Integer(int64_t v) { Slot() = v; }
  void String(std::string_view s) { Slot() = std::string(s); }
  void Null() { Slot() = nullptr; }
  OrderedJson Take() { return std::move(root_); }

 private:
  OrderedJson& Slot() {
    OrderedJson& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(nullptr);
      return top.back();
    }
    return top[*key_];
  }
  void Open(OrderedJson value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      stack_.push_back(&root_);
      return;
    }
    OrderedJson& slot = Slot();
    slot = std::move(value);
    stack_.push_back(&slot);
  }
  OrderedJson root_;
  std::vector<OrderedJson*> stack_;
  const std::string* key_ = nullptr;
};

// No output: decoding for its checks, counters and sizes only.
class NullOut {
 public:
  static constexpr bool kDiscard = true;
  void Key(const std::string&, const std::string&) {}
  void Element() {}
  void BeginObject() {}
  void EndObject() {}
  void BeginArray() {}
  void EndArray() {}
  void Scalar(const Value&) {}
  void Integer(int64_t) {}
  void String(std::string_view) {}
  void Null() {}
};

template <typename Out>
constexpr bool Discards() {
  return std::is_same_v<Out, NullOut>;
}

bool ContainsCounter(const Copybook& cb, int32_t index) {
  const Field& f = cb.fields[index];
  if (f.is_counter) return true;
  return std::any_of(f.children.begin(), f.children.end(),
                     [&](int32_t c) { return ContainsCounter(cb, c); });
}

bool ParseCount(std::string_view digits, bool negative, int32_t scale, int64_t* count) {
  if (negative && digits != "0") return false;
  std::string text(digits);
  if (scale < 0) text.append(static_cast<size_t>(-scale), '0');
  if (scale > 0) {
    // A count with decimals is a count when they are zeros.
    const size_t s = static_cast<size_t>(scale);
    if (text.size() <= s) text.insert(0, s - text.size() + 1, '0');
    if (text.find_first_not_of('0', text.size() - s) != std::string::npos) return false;
    text.resize(text.size() - s);
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *count);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

template <typename Out>
class Walker {
 public:
  Walker(RecordDecoder* decoder, std::span<const uint8_t> record, Out* out, RecordError* error)
      : d_(*decoder), cb_(decoder->copybook_), record_(record), out_(*out), error_(error) {}

  // One item (all its occurrences) at `pos`; *size: the bytes it took.
  bool Item(int32_t index, int64_t pos, int64_t* size) {
    const Field& f = cb_.fields[index];
    const RecordDecoder::Plan& p = d_.plan_[index];
    const bool emit = p.emit && !Discards<Out>();
    if (!p.emit && !p.visit) {
      *size = f.size * f.occurs_max;
      return true;
    }
    if (!f.has_occurs) {
      if (f.is_group) {
        if (emit) {
          out_.Key(p.name, p.key);
          out_.BeginObject();
        }
        if (!Children(index, pos, size)) return false;
        if (emit) out_.EndObject();
        if (emit && p.non_terminal) NonTerminal(index, pos, *size);
        return true;
      }
      *size = f.size;
      return Elementary(index, pos, /*in_array=*/false, emit);
    }
    int64_t count = f.occurs_max;
    if (f.depending_on >= 0 && !Count(index, pos, &count)) return false;
    if (emit) {
      out_.Key(p.name, p.key);
      out_.BeginArray();
    }
    int64_t cursor = pos;
    for (int64_t k = 0; k < count; ++k) {
      const int64_t at = d_.options_.variable_size_occurs ? cursor : pos + k * f.size;
      int64_t element = f.size;
      if (emit) out_.Element();
      if (f.is_group) {
        if (emit) out_.BeginObject();
        if (!Children(index, at, &element)) return false;
        if (emit) out_.EndObject();
      } else if (!Elementary(index, at, /*in_array=*/true, emit)) {
        return false;
      }
      cursor = at + element;
    }
    if (emit) out_.EndArray();
    *size = d_.options_.variable_size_occurs ? cursor - pos : f.size * f.occurs_max;
    return true;
  }

  // The children of a group whose first byte is at `start`.
  bool Children(int32_t index, int64_t start, int64_t* size) {
    const Field& g = cb_.fields[index];
    const bool variable = d_.options_.variable_size_occurs;
    int64_t set_start = start, set_end = start;
    for (int32_t child : g.children) {
      const Field& c = cb_.fields[child];
      int64_t at;
      if (!variable) {
        at = start + (c.offset - g.offset);
      } else if (c.redefines >= 0) {
        at = set_start;
      } else {
        set_start = set_end;
        at = set_start;
      }
      int64_t taken = c.size * c.occurs_max;
      const int32_t rule = d_.plan_[child].segment_rule;
      if (rule < 0 || d_.SegmentMatches(rule)) {
        if (!Item(child, at, &taken)) return false;
      }
      set_end = c.redefines >= 0 ? std::max(set_end, at + taken) : at + taken;
    }
    *size = variable ? set_end - start : g.size;
    return true;
  }

 private:
  std::span<const uint8_t> Bytes(int64_t pos, int64_t size) {
    if (pos + size <= static_cast<int64_t>(record_.size())) {
      return record_.subspan(static_cast<size_t>(pos), static_cast<size_t>(size));
    }
    // Past the end of a short record: what there is, then zeros (as Cobrix reads it).
    d_.padded_.assign(static_cast<size_t>(size), 0);
    if (pos < static_cast<int64_t>(record_.size())) {
      std::copy(record_.begin() + pos, record_.end(), d_.padded_.begin());
    }
    return d_.padded_;
  }

  bool Fail(int32_t index, int64_t pos, std::string reason) {
    error_->field = cb_.Path(index);
    error_->offset = pos;
    error_->reason = std::move(reason);
    return false;
  }

  bool Elementary(int32_t index, int64_t pos, bool in_array, bool emit) {
    const Field& f = cb_.fields[index];
    Value value;
    FieldCodec::Outcome outcome = FieldCodec::Outcome::kNull;
    if (pos < static_cast<int64_t>(record_.size())) {
      outcome = d_.codec_.Decode(f, Bytes(pos, f.size), &value);
    }
    if (outcome == FieldCodec::Outcome::kInvalid) return Fail(index, pos, d_.codec_.last_error());
    if (f.is_counter) Remember(index, outcome, value);
    if (!emit) return true;
    if (outcome != FieldCodec::Outcome::kValue) {
      if (in_array) out_.Null();
      return true;
    }
    const RecordDecoder::Plan& p = d_.plan_[index];
    if (!in_array) out_.Key(p.name, p.key);
    out_.Scalar(value);
    return true;
  }

  void Remember(int32_t index, FieldCodec::Outcome outcome, const Value& value) {
    d_.counters_[index] = -1;
    d_.counter_text_[index].clear();
    if (outcome != FieldCodec::Outcome::kValue) return;
    if (value.kind == Value::Kind::kNumber) {
      int64_t count = 0;
      if (ParseCount(value.digits, value.negative, value.scale, &count))
        d_.counters_[index] = count;
    }
    d_.counter_text_[index] = ValueText(value);
  }

  bool Count(int32_t index, int64_t pos, int64_t* count) {
    const Field& f = cb_.fields[index];
    const Field& counter = cb_.fields[f.depending_on];
    const RecordDecoder::Plan& p = d_.plan_[index];
    if (p.mapping != nullptr) {
      const std::string& text = d_.counter_text_[f.depending_on];
      auto it = p.mapping->find(text);
      if (it == p.mapping->end()) {
        return Fail(index, pos,
                    fmt::format("DEPENDING ON {} is `{}`, which the occurs mapping of {} does not "
                                "list",
                                counter.name, text, f.name));
      }
      *count = it->second;
    } else {
      *count = d_.counters_[f.depending_on];
      if (*count < 0) {
        return Fail(index, pos,
                    fmt::format("DEPENDING ON {} is not a count (`{}`)", counter.name,
                                d_.counter_text_[f.depending_on]));
      }
    }
    if (*count < f.occurs_min || *count > f.occurs_max) {
      return Fail(index, pos,
                  fmt::format("DEPENDING ON {} = {} is outside OCCURS {} TO {}", counter.name,
                              *count, f.occurs_min, f.occurs_max));
    }
    return true;
  }

  void NonTerminal(int32_t index, int64_t pos, int64_t size) {
    const RecordDecoder::Plan& p = d_.plan_[index];
    Field text = p.nt_field;
    text.size = static_cast<int32_t>(size);
    Value value;
    if (pos >= static_cast<int64_t>(record_.size())) return;
    if (d_.codec_.Decode(text, Bytes(pos, size), &value) != FieldCodec::Outcome::kValue) return;
    out_.Key(p.nt_name, p.nt_key);
    out_.Scalar(value);
  }

  RecordDecoder& d_;
  const Copybook& cb_;
  std::span<const uint8_t> record_;
  Out& out_;
  RecordError* error_;
};

RecordDecoder::RecordDecoder(const Copybook& copybook, const DecodeOptions& options)
    : copybook_(copybook), options_(options), codec_(options.codec) {}

RecordDecoder::~RecordDecoder() = default;

Result<std::unique_ptr<RecordDecoder>> RecordDecoder::Create(const Copybook& copybook,
                                                             const DecodeOptions& options) {
  std::unique_ptr<RecordDecoder> decoder(new RecordDecoder(copybook, options));
  FERRY_RETURN_IF_ERROR(decoder->Prepare());
  return decoder;
}

Status RecordDecoder::Prepare() {
  const std::vector<Field>& fields = copybook_.fields;
  std::vector<std::string> names = OutputNames(copybook_, options_.fillers.naming);
  plan_.resize(fields.size());
  counters_.assign(fields.size(), -1);
  counter_text_.assign(fields.size(), "");
  auto find_one = [&](const std::string& name, std::string_view what) -> Result<int32_t> {
    std::vector<int32_t> found = copybook_.Find(name);
    if (found.empty()) {
      return Err(
          InvalidArgument("{} `{}`: no such field in {}", what, name, copybook_.source_name));
    }
    if (found.size() > 1) {
      return Err(InvalidArgument("{} `{}` is ambiguous in {}: name it by its path ({})", what, name,
                                 copybook_.source_name, copybook_.Path(found[0])));
    }
    return found.front();
  };
  // Emit: not a dropped filler, not inside one, and (a group) something inside it is emitted.
  // Children come after their parent in declaration order: backwards for what a group holds,
  // forwards for what encloses an item.
  for (size_t i = fields.size(); i-- > 0;) {
    const Field& f = fields[i];
    Plan& p = plan_[i];
    p.name = names[i];
    p.key = QuotedKey(p.name);
    if (f.level == 66) continue;
    const bool dropped = f.is_filler && (f.is_group ? options_.fillers.drop_group_fillers
                                                    : options_.fillers.drop_value_fillers);
    bool any = !f.is_group;
    for (int32_t c : f.children) any = any || plan_[c].emit;
    p.emit = !dropped && any;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& f = fields[i];
    if (f.level != 66 && f.parent >= 0 && !plan_[f.parent].emit) plan_[i].emit = false;
  }
  // Visit: not emitted, but it is (or holds) a DEPENDING ON counter, which must be decoded.
  for (size_t i = 0; i < fields.size(); ++i) {
    plan_[i].visit = !plan_[i].emit && ContainsCounter(copybook_, static_cast<int32_t>(i));
  }
  for (const auto& [name, mapping] : options_.occurs_mappings) {
    FERRY_ASSIGN_OR_RETURN(int32_t index, find_one(name, "occurs mapping for"));
    if (fields[index].depending_on < 0) {
      return InvalidArgument("occurs mapping for `{}`: it has no OCCURS DEPENDING ON", name);
    }
    plan_[index].mapping = &mapping;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& f = fields[i];
    if (f.depending_on < 0 || plan_[i].mapping != nullptr) continue;
    const Field& counter = fields[f.depending_on];
    if (counter.type != ValueType::kInt32 && counter.type != ValueType::kInt64) {
      return InvalidArgument(
          "{}:{}: `{}` is the DEPENDING ON field of `{}` and is not an integer (PIC {}); give "
          "an occurs mapping from its values to counts",
          copybook_.source_name, counter.line, counter.name, f.name, counter.picture.text);
    }
  }
  for (const std::string& name : options_.non_terminals) {
    FERRY_ASSIGN_OR_RETURN(int32_t index, find_one(name, "non-terminal"));
    const Field& f = fields[index];
    if (!f.is_group) return InvalidArgument("non-terminal `{}` is not a group", name);
    Plan& p = plan_[index];
    p.non_terminal = true;
    p.nt_name = p.name + "_NT";
    p.nt_key = QuotedKey(p.nt_name);
    p.nt_field = f;
    p.nt_field.is_group = false;
    p.nt_field.type = ValueType::kString;
    p.nt_field.usage = Usage::kDisplay;
  }
  if (!options_.segment_field.empty()) {
    FERRY_ASSIGN_OR_RETURN(segment_field_, find_one(options_.segment_field, "segment field"));
    const Field& f = fields[segment_field_];
    if (f.is_group) return InvalidArgument("segment field `{}` is a group", f.name);
    for (int32_t p = segment_field_; p >= 0; p = fields[p].parent) {
      if (fields[p].has_occurs) {
        return InvalidArgument("segment field `{}` is inside an OCCURS", f.name);
      }
    }
  } else if (!options_.segment_redefines.empty() || !options_.segment_filter.empty() ||
             !options_.segment_id_levels.empty()) {
    return InvalidArgument("segment ids, filters and redefine maps need a segment field");
  }
  for (size_t r = 0; r < options_.segment_redefines.size(); ++r) {
    const std::string& name = options_.segment_redefines[r].first;
    FERRY_ASSIGN_OR_RETURN(int32_t index, find_one(name, "segment redefine"));
    if (fields[index].redefines < 0 && !fields[index].is_redefined) {
      return InvalidArgument("segment redefine `{}` is not part of a REDEFINES", name);
    }
    plan_[index].segment_rule = static_cast<int32_t>(r);
  }
  return OkStatus();
}

bool RecordDecoder::SegmentMatches(int32_t rule) const {
  const std::vector<std::string>& ids = options_.segment_redefines[rule].second;
  return std::find(ids.begin(), ids.end(), segment_id_) != ids.end();
}

bool RecordDecoder::has_variable_size() const {
  return options_.variable_size_occurs && copybook_.has_depending_on();
}

std::string RecordDecoder::SegmentId(std::span<const uint8_t> record) {
  if (segment_field_ < 0) return "";
  const Field& f = copybook_.fields[segment_field_];
  if (f.offset + f.size > static_cast<int64_t>(record.size())) return "";
  Value value;
  if (codec_.Decode(f, record.subspan(f.offset, f.size), &value) != FieldCodec::Outcome::kValue) {
    return "";
  }
  std::string id = ValueText(value);
  const size_t first = id.find_first_not_of(' ');
  const size_t last = id.find_last_not_of(' ');
  return first == std::string::npos ? "" : id.substr(first, last - first + 1);
}

bool RecordDecoder::Keeps(const std::string& segment_id) const {
  return options_.segment_filter.empty() ||
         std::find(options_.segment_filter.begin(), options_.segment_filter.end(), segment_id) !=
             options_.segment_filter.end();
}

Result<int64_t> RecordDecoder::IntegerField(int32_t index, std::span<const uint8_t> record) {
  const Field& f = copybook_.fields[index];
  if (f.offset + f.size > static_cast<int64_t>(record.size())) {
    return Err(OutOfRange("the record ends before {} ({} bytes left)", f.name, record.size()));
  }
  return IntegerFieldAt(index, record.subspan(f.offset, f.size));
}

Result<int64_t> RecordDecoder::IntegerFieldAt(int32_t index, std::span<const uint8_t> bytes) {
  const Field& f = copybook_.fields[index];
  Value value;
  if (codec_.Decode(f, bytes, &value) != FieldCodec::Outcome::kValue ||
      value.kind != Value::Kind::kNumber) {
    return Err(InvalidArgument("{} is not a number: {}", f.name, codec_.last_error()));
  }
  int64_t n = 0;
  if (!ParseCount(value.digits, value.negative, value.scale, &n)) {
    return Err(InvalidArgument("{} is not a positive integer", f.name));
  }
  return n;
}

bool RecordDecoder::Emits(int32_t field) const { return plan_[field].emit; }

const std::string& RecordDecoder::OutputName(int32_t field) const { return plan_[field].name; }

template <typename Out>
static bool WalkRecord(RecordDecoder* decoder, Walker<Out>& walker, const Copybook& cb,
                       bool keep_root, int64_t* size) {
  *size = 0;
  if (cb.records.size() == 1 && !keep_root) {
    return walker.Children(cb.records.front(), 0, size);
  }
  for (int32_t root : cb.records) {
    int64_t taken = 0;
    if (!walker.Item(root, 0, &taken)) return false;
    *size = std::max(*size, taken);
  }
  (void)decoder;
  return true;
}

bool RecordDecoder::AppendJson(std::span<const uint8_t> record, const RecordInfo& info,
                               std::string* out, RecordError* error) {
  const size_t mark = out->size();
  if (!options_.segment_redefines.empty()) segment_id_ = SegmentId(record);
  TextOut text(out);
  text.BeginObject();
  if (options_.generate_record_id) {
    static const std::string kFileId = "File_Id", kRecordId = "Record_Id",
                             kLength = "Record_Byte_Length";
    text.Key(kFileId, "\"File_Id\":");
    text.Integer(options_.file_id);
    text.Key(kRecordId, "\"Record_Id\":");
    text.Integer(info.record_id);
    text.Key(kLength, "\"Record_Byte_Length\":");
    text.Integer(info.byte_length);
  }
  for (size_t k = 0; k < info.segment_ids.size(); ++k) {
    if (info.segment_ids[k].empty()) continue;
    const std::string name = fmt::format("Seg_Id{}", k);
    text.Key(name, QuotedKey(name));
    text.String(info.segment_ids[k]);
  }
  Walker<TextOut> walker(this, record, &text, error);
  int64_t size = 0;
  if (!WalkRecord(this, walker, copybook_, options_.keep_root, &size)) {
    out->resize(mark);
    return false;
  }
  text.EndObject();
  return true;
}

Result<OrderedJson> RecordDecoder::ToJson(std::span<const uint8_t> record, const RecordInfo& info) {
  if (!options_.segment_redefines.empty()) segment_id_ = SegmentId(record);
  TreeOut tree;
  tree.BeginObject();
  if (options_.generate_record_id) {
    static const std::string kFileId = "File_Id", kRecordId = "Record_Id",
                             kLength = "Record_Byte_Length";
    tree.Key(kFileId, "");
    tree.Integer(options_.file_id);
    tree.Key(kRecordId, "");
    tree.Integer(info.record_id);
    tree.Key(kLength, "");
    tree.Integer(info.byte_length);
  }
  std::vector<std::string> names;
  for (size_t k = 0; k < info.segment_ids.size(); ++k) names.push_back(fmt::format("Seg_Id{}", k));
  for (size_t k = 0; k < info.segment_ids.size(); ++k) {
    if (info.segment_ids[k].empty()) continue;
    tree.Key(names[k], "");
    tree.String(info.segment_ids[k]);
  }
  RecordError error;
  Walker<TreeOut> walker(this, record, &tree, &error);
  int64_t size = 0;
  if (!WalkRecord(this, walker, copybook_, options_.keep_root, &size)) {
    return Err(InvalidArgument(
        "{}{}{}: {}", error.field,
        error.field.empty() ? "" : fmt::format(" at offset {}", error.offset), "", error.reason));
  }
  tree.EndObject();
  return tree.Take();
}

bool RecordDecoder::Validate(std::span<const uint8_t> record, RecordError* error) {
  if (!options_.segment_redefines.empty()) segment_id_ = SegmentId(record);
  NullOut none;
  // Every field, emitted or not, is decoded: NullOut walks what an output would.
  Walker<NullOut> walker(this, record, &none, error);
  int64_t size = 0;
  return WalkRecord(this, walker, copybook_, options_.keep_root, &size);
}

int64_t RecordDecoder::RecordSize(std::span<const uint8_t> record, std::string* why) {
  if (!has_variable_size()) return copybook_.record_size();
  NullOut none;
  RecordError error;
  Walker<NullOut> walker(this, record, &none, &error);
  int64_t size = 0;
  if (!WalkRecord(this, walker, copybook_, true, &size)) {
    *why = fmt::format("{}: {}", error.field, error.reason);
    return -1;
  }
  return size;
}

// ---- Whole files.

std::string RejectJson(const Reject& r) {
  OrderedJson j = {{"record", r.record}, {"offset", r.offset}, {"length", r.length}};
  if (!r.field.empty()) {
    j["field"] = r.field;
    j["field_offset"] = r.field_offset;
  }
  j["reason"] = r.reason;
  j["bytes"] = r.hex;
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

namespace {

std::string HexPrefix(std::span<const uint8_t> data) {
  std::string hex;
  const size_t n = std::min<size_t>(data.size(), 64);
  for (size_t i = 0; i < n; ++i) hex += fmt::format("{:02X}", data[i]);
  if (data.size() > n) hex += "...";
  return hex;
}

// Cobrix's Seg_Id columns: the root's id is <prefix>_<file>_<record id of the latest root>;
// level k's appends _L<k>_<its count since the level above>.
class SegmentIds {
 public:
  SegmentIds(const std::vector<std::string>& levels, std::string prefix, int32_t file_id)
      : levels_(levels),
        prefix_(std::move(prefix)),
        file_id_(file_id),
        ids_(levels.size()),
        counts_(levels.size(), 0) {}

  const std::vector<std::string>& Next(const std::string& segment, int64_t record_id) {
    auto it = std::find(levels_.begin(), levels_.end(), segment);
    if (it != levels_.end()) {
      const size_t level = static_cast<size_t>(it - levels_.begin());
      if (level == 0) {
        ids_[0] = fmt::format("{}_{}_{}", prefix_, file_id_, record_id);
      } else if (!ids_[level - 1].empty()) {
        ++counts_[level];
        ids_[level] = fmt::format("{}_L{}_{}", ids_[level - 1], level, counts_[level]);
      }
      for (size_t k = level + 1; k < levels_.size(); ++k) {
        ids_[k].clear();
        counts_[k] = 0;
      }
      current_ = ids_;
      for (size_t k = level + 1; k < current_.size(); ++k) current_[k].clear();
    } else {
      // Another segment: it carries the root's id only.
      current_.assign(levels_.size(), "");
      if (!ids_.empty()) current_[0] = ids_[0];
    }
    return current_;
  }

 private:
  std::vector<std::string> levels_;
  std::string prefix_;
  int32_t file_id_;
  std::vector<std::string> ids_;
  std::vector<int64_t> counts_;
  std::vector<std::string> current_;
};

}  // namespace

Result<StreamStats> DecodeStream(ByteSource* source, const Copybook& copybook,
                                 FramingOptions framing, const StreamOptions& options,
                                 const JsonSink& records, const RejectSink& rejects) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<RecordDecoder> decoder,
                         RecordDecoder::Create(copybook, options.decode));
  RecordDecoder* d = decoder.get();
  if (framing.format == RecordFormat::kFixed && framing.record_length == 0 &&
      !framing.record_length_of) {
    if (!options.record_length_field.empty()) {
      std::vector<int32_t> found = copybook.Find(options.record_length_field);
      if (found.size() != 1) {
        return Err(InvalidArgument("record length field `{}`: {}", options.record_length_field,
                                   found.empty() ? "no such field" : "ambiguous; give its path"));
      }
      const int32_t field = found.front();
      const int32_t adjustment = options.record_length_adjustment;
      framing.record_length_of = [d, field, adjustment](std::span<const uint8_t> bytes,
                                                        std::string* why) -> int64_t {
        Result<int64_t> n = d->IntegerField(field, bytes);
        if (!n.has_value()) {
          *why = n.error().message();
          return -1;
        }
        return *n + adjustment;
      };
      framing.max_record_length = copybook.record_size();
    } else if (d->has_variable_size()) {
      framing.record_length_of = [d](std::span<const uint8_t> bytes, std::string* why) {
        return d->RecordSize(bytes, why);
      };
      framing.max_record_length = copybook.record_size();
    } else {
      framing.record_length =
          copybook.record_size() + framing.record_start_offset + framing.record_end_offset;
    }
  }
  if (framing.format == RecordFormat::kText) {
    framing.ebcdic_text = options.decode.codec.encoding == Encoding::kEbcdic;
  }
  RecordReader reader(source, framing);
  const DecodeOptions& decode = options.decode;
  const bool segments = !decode.segment_field.empty();
  SegmentIds segment_ids(decode.segment_id_levels, decode.segment_id_prefix, decode.file_id);
  StreamStats stats;
  RawRecord raw;
  RecordInfo info;
  std::string why, line;
  for (int64_t n = 0;; ++n) {
    FERRY_ASSIGN_OR_RETURN(RecordReader::Outcome outcome, reader.Next(&raw, &why));
    if (outcome == RecordReader::Outcome::kEnd) break;
    if (outcome == RecordReader::Outcome::kBad) {
      Reject reject{.record = n,
                    .offset = raw.offset,
                    .length = static_cast<int64_t>(raw.data.size()),
                    .reason = why,
                    .hex = HexPrefix(raw.data)};
      ++stats.rejected;
      FERRY_RETURN_IF_ERROR(rejects(reject));
      continue;
    }
    info.record_id = n;
    info.byte_length = static_cast<int64_t>(raw.data.size());
    info.segment_ids.clear();
    if (segments) {
      const std::string id = d->SegmentId(raw.data);
      if (!decode.segment_id_levels.empty()) info.segment_ids = segment_ids.Next(id, n);
      if (!d->Keeps(id)) {
        ++stats.filtered;
        continue;
      }
    }
    line.clear();
    RecordError error;
    if (!d->AppendJson(raw.data, info, &line, &error)) {
      Reject reject{.record = n,
                    .offset = raw.offset,
                    .length = static_cast<int64_t>(raw.data.size()),
                    .field = error.field,
                    .field_offset = error.offset,
                    .reason = error.reason,
                    .hex = HexPrefix(raw.data)};
      ++stats.rejected;
      FERRY_RETURN_IF_ERROR(rejects(reject));
      continue;
    }
    ++stats.records;
    FERRY_RETURN_IF_ERROR(records(line));
  }
  stats.bytes = reader.bytes_read();
  return stats;
}

}  // namespace ferry::legacy
