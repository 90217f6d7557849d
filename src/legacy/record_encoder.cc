#include "legacy/record_encoder.h"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include <fmt/format.h>

namespace ferry::legacy {
namespace {

// Builds an OrderedJson from SAX events, keeping the text of non-integer numbers.
class ExactNumberSax {
 public:
  bool null() { return Put(nullptr); }
  bool boolean(bool v) { return Put(v); }
  bool number_integer(OrderedJson::number_integer_t v) { return Put(v); }
  bool number_unsigned(OrderedJson::number_unsigned_t v) { return Put(v); }
  bool number_float(OrderedJson::number_float_t, const OrderedJson::string_t& text) {
    return Put(text);
  }
  bool string(OrderedJson::string_t& v) { return Put(std::move(v)); }
  bool binary(OrderedJson::binary_t&) { return false; }
  bool start_object(std::size_t) { return Open(OrderedJson::object()); }
  bool key(OrderedJson::string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    // Members were appended without a search (a search per key is quadratic in a wide record);
    // a key given twice is refused here instead of one of its values being dropped.
    const auto& members = stack_.back()->get_ref<const OrderedJson::object_t&>();
    if (members.size() > 1) {
      seen_.clear();
      for (const auto& [name, value] : members) {
        if (!seen_.insert(name).second) {
          error = fmt::format("key \"{}\" appears twice in one object", name);
          return false;
        }
      }
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return Open(OrderedJson::array()); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    error = fmt::format("byte {}: {}", position, e.what());
    return false;
  }

  OrderedJson root;
  std::string error;

 private:
  OrderedJson& Slot() {
    OrderedJson& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(nullptr);
      return top.back();
    }
    auto& members = top.get_ref<OrderedJson::object_t&>();
    return static_cast<OrderedJson::object_t::Container&>(members)
        .emplace_back(std::move(key_), nullptr)
        .second;
  }
  bool Put(OrderedJson v) {
    if (stack_.empty()) {
      root = std::move(v);
    } else {
      Slot() = std::move(v);
    }
    return true;
  }
  bool Open(OrderedJson v) {
    if (stack_.empty()) {
      root = std::move(v);
      stack_.push_back(&root);
    } else {
      OrderedJson& slot = Slot();
      slot = std::move(v);
      stack_.push_back(&slot);
    }
    return true;
  }
  std::vector<OrderedJson*> stack_;
  std::string key_;
  std::unordered_set<std::string_view> seen_;
};

// The member `name` of `object`, or null. Records usually list their fields in the layout's
// order, so the search starts at `*hint` (just after the previous match) and wraps around:
// a record is then read in one pass rather than one search per field.
const OrderedJson* Member(const OrderedJson* object, const std::string& name, size_t* hint) {
  if (object == nullptr || !object->is_object()) return nullptr;
  const OrderedJson::object_t::Container& members = object->get_ref<const OrderedJson::object_t&>();
  const size_t n = members.size();
  for (size_t k = 0, i = *hint; k < n; ++k, ++i) {
    if (i == n) i = 0;
    if (members[i].first == name) {
      *hint = i + 1;
      return members[i].second.is_null() ? nullptr : &members[i].second;
    }
  }
  return nullptr;
}

}  // namespace

class RecordEncoder::Impl {
 public:
  Impl(const Copybook& copybook, std::unique_ptr<RecordDecoder> decoder)
      : cb_(copybook),
        decoder_(std::move(decoder)),
        options_(decoder_->options()),
        codec_(options_.codec) {
    counter_at_.assign(cb_.fields.size(), -1);
    counter_value_.assign(cb_.fields.size(), -1);
  }

  Result<std::vector<uint8_t>> Encode(const OrderedJson& record) {
    if (!record.is_object()) return Err(InvalidArgument("a record must be a JSON object"));
    const int64_t max = cb_.record_size();
    buffer_.assign(static_cast<size_t>(max), 0);
    std::ranges::fill(counter_at_, -1);
    std::ranges::fill(counter_value_, -1);
    for (int32_t root : cb_.records) Blank(root, 0);
    int64_t size = 0;
    if (cb_.records.size() == 1 && !options_.keep_root) {
      FERRY_RETURN_IF_ERROR(Children(cb_.records.front(), 0, &record, &size));
    } else {
      bool written = false;
      for (int32_t root : cb_.records) {
        size_t hint = 0;
        const OrderedJson* value = Member(&record, decoder_->OutputName(root), &hint);
        if (value == nullptr || written) continue;
        written = true;  // the records are alternatives over the same bytes
        FERRY_RETURN_IF_ERROR(Item(root, 0, value, &size));
      }
    }
    if (!options_.variable_size_occurs) size = max;
    buffer_.resize(static_cast<size_t>(size));
    return std::move(buffer_);
  }

 private:
  Status Fail(int32_t index, const Status& status) const {
    return Status(status.code(), fmt::format("{}: {}", cb_.Path(index), status.message()));
  }

  // Writes the blank form of an item (all occurrences) at `pos`, with its static layout.
  void Blank(int32_t index, int64_t pos) {
    const Field& f = cb_.fields[index];
    for (int32_t k = 0; k < f.occurs_max; ++k) {
      const int64_t at = pos + int64_t{k} * f.size;
      if (at + f.size > static_cast<int64_t>(buffer_.size())) return;
      if (!f.is_group) {
        codec_.EncodeNull(f, buffer_.data() + at);
        continue;
      }
      for (int32_t child : f.children) {
        const Field& c = cb_.fields[child];
        if (c.redefines < 0) Blank(child, at + (c.offset - f.offset));
      }
    }
  }

  void Ensure(int64_t end) {
    if (end > static_cast<int64_t>(buffer_.size())) buffer_.resize(static_cast<size_t>(end), 0);
  }

  Status Value(int32_t index, int64_t pos, const OrderedJson* value) {
    const Field& f = cb_.fields[index];
    Ensure(pos + f.size);
    uint8_t* out = buffer_.data() + pos;
    if (f.is_counter) counter_at_[index] = pos;
    if (value == nullptr) {
      codec_.EncodeNull(f, out);
      return OkStatus();
    }
    Status status;
    switch (value->type()) {
      case OrderedJson::value_t::string:
        status = codec_.EncodeText(f, value->get_ref<const std::string&>(), out);
        break;
      case OrderedJson::value_t::number_integer:
      case OrderedJson::value_t::number_unsigned: {
        DecimalNumber n;
        const bool negative = value->is_number_integer() && value->get<int64_t>() < 0;
        n.negative = negative;
        n.digits = negative ? std::to_string(value->get<int64_t>()).substr(1)
                            : std::to_string(value->get<uint64_t>());
        status = codec_.EncodeNumber(f, n, out);
        break;
      }
      case OrderedJson::value_t::number_float:
        status = codec_.EncodeReal(f, value->get<double>(), out);
        break;
      default: status = InvalidArgument("expected a text or a number, got {}", value->type_name());
    }
    if (!status.ok()) return Fail(index, status);
    if (f.is_counter) {
      Result<int64_t> n = decoder_->IntegerFieldAt(index, std::span<const uint8_t>(out, f.size));
      if (n.has_value()) counter_value_[index] = *n;
    }
    return OkStatus();
  }

  Status Item(int32_t index, int64_t pos, const OrderedJson* value, int64_t* size) {
    const Field& f = cb_.fields[index];
    if (!decoder_->Emits(index)) {
      Ensure(pos + int64_t{f.size} * f.occurs_max);
      Blank(index, pos);
      *size = int64_t{f.size} * f.occurs_max;
      return OkStatus();
    }
    if (!f.has_occurs) {
      if (f.is_group) {
        if (value != nullptr && !value->is_object()) {
          return Fail(index, InvalidArgument("expected an object, got {}", value->type_name()));
        }
        return Children(index, pos, value, size);
      }
      *size = f.size;
      return Value(index, pos, value);
    }
    if (value != nullptr && !value->is_array()) {
      return Fail(index, InvalidArgument("expected an array, got {}", value->type_name()));
    }
    int64_t count = value != nullptr ? static_cast<int64_t>(value->size()) : 0;
    if (f.depending_on >= 0) {
      const int64_t given = counter_value_[f.depending_on];
      if (value == nullptr && given >= 0) count = given;
      if (given >= 0 && given != count) {
        return Fail(index, InvalidArgument("{} elements, but {} is {}", count,
                                           cb_.fields[f.depending_on].name, given));
      }
      if (count < f.occurs_min || count > f.occurs_max) {
        return Fail(index, OutOfRange("{} elements, outside OCCURS {} TO {}", count, f.occurs_min,
                                      f.occurs_max));
      }
      if (given < 0 && counter_at_[f.depending_on] >= 0) {
        const Field& counter = cb_.fields[f.depending_on];
        DecimalNumber n{.negative = false, .digits = std::to_string(count), .scale = 0};
        Status status =
            codec_.EncodeNumber(counter, n, buffer_.data() + counter_at_[f.depending_on]);
        if (!status.ok()) return Fail(f.depending_on, status);
        counter_value_[f.depending_on] = count;
      }
    } else if (count > f.occurs_max) {
      return Fail(index, OutOfRange("{} elements, but OCCURS {}", count, f.occurs_max));
    }
    int64_t cursor = pos;
    for (int64_t k = 0; k < count; ++k) {
      const int64_t at = options_.variable_size_occurs ? cursor : pos + k * f.size;
      const OrderedJson* element = &(*value)[static_cast<size_t>(k)];
      if (element->is_null()) element = nullptr;
      int64_t taken = f.size;
      if (f.is_group) {
        if (element != nullptr && !element->is_object()) {
          return Fail(index, InvalidArgument("element {}: expected an object", k));
        }
        FERRY_RETURN_IF_ERROR(Children(index, at, element, &taken));
      } else {
        FERRY_RETURN_IF_ERROR(Value(index, at, element));
      }
      cursor = at + taken;
    }
    *size = options_.variable_size_occurs ? cursor - pos : int64_t{f.size} * f.occurs_max;
    return OkStatus();
  }

  Status Children(int32_t index, int64_t start, const OrderedJson* object, int64_t* size) {
    const Field& g = cb_.fields[index];
    const bool variable = options_.variable_size_occurs;
    int64_t set_start = start, set_end = start;
    bool set_written = false;
    size_t hint = 0;
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
      if (c.redefines < 0) set_written = false;
      const OrderedJson* value = Member(object, decoder_->OutputName(child), &hint);
      int64_t taken = int64_t{c.size} * c.occurs_max;
      const bool in_set = c.redefines >= 0 || c.is_redefined;
      if (!in_set || (!set_written && (value != nullptr || !c.is_redefined))) {
        FERRY_RETURN_IF_ERROR(Item(child, at, value, &taken));
        if (in_set && value != nullptr) set_written = true;
      }
      set_end = c.redefines >= 0 ? std::max(set_end, at + taken) : at + taken;
    }
    *size = variable ? set_end - start : g.size;
    return OkStatus();
  }

  const Copybook& cb_;
  std::unique_ptr<RecordDecoder> decoder_;
  const DecodeOptions& options_;
  FieldCodec codec_;
  std::vector<uint8_t> buffer_;
  std::vector<int64_t> counter_at_;     // where each counter was written in this record
  std::vector<int64_t> counter_value_;  // and its value (-1: none)
};

RecordEncoder::RecordEncoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecordEncoder::~RecordEncoder() = default;

Result<std::unique_ptr<RecordEncoder>> RecordEncoder::Create(const Copybook& copybook,
                                                             const DecodeOptions& options) {
  FERRY_ASSIGN_OR_RETURN(std::unique_ptr<RecordDecoder> decoder,
                         RecordDecoder::Create(copybook, options));
  const Copybook& cb = decoder->copybook();
  return std::unique_ptr<RecordEncoder>(
      new RecordEncoder(std::make_unique<Impl>(cb, std::move(decoder))));
}

Result<std::vector<uint8_t>> RecordEncoder::Encode(const OrderedJson& record) {
  return impl_->Encode(record);
}

Result<OrderedJson> ParseRecordJson(std::string_view text, std::string_view source_name) {
  ExactNumberSax sax;
  const bool ok = OrderedJson::sax_parse(text, &sax);
  if (!ok) return Err(InvalidArgument("{}: not a JSON object: {}", source_name, sax.error));
  return std::move(sax.root);
}

}  // namespace ferry::legacy
