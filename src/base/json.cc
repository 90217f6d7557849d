#include "base/json.h"

#include <algorithm>

namespace ferry {
namespace {

// nlohmann's own DOM builders (plain, or with a filter callback), except that a parse error is
// recorded with its position instead of thrown. Every error goes through here, including number
// overflow ("1e400"), which carries no position when the library throws it.
template <typename Base>
class RecordingBuilder : public Base {
 public:
  template <typename... Args>
  explicit RecordingBuilder(Args&&... args) : Base(std::forward<Args>(args)...) {}

  template <typename Exception>
  bool parse_error(size_t position, const std::string& /*last_token*/, const Exception& error) {
    position_ = position;
    what_ = error.what();
    return false;
  }

  size_t position() const { return position_; }
  // what() without "[json.exception.parse_error.101] parse error at line 1, column 5: ".
  std::string_view what() const {
    std::string_view what = what_;
    if (size_t end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
    if (what.starts_with("parse error")) {
      size_t at = what.find(", column ");
      if (at != std::string_view::npos) at = what.find(": ", at);
      if (at != std::string_view::npos) what.remove_prefix(at + 2);
    }
    return what;
  }

 private:
  size_t position_ = 0;
  std::string what_;
};

using DomBuilder = RecordingBuilder<nlohmann::detail::json_sax_dom_parser<Json>>;
using FilteringBuilder = RecordingBuilder<nlohmann::detail::json_sax_dom_callback_parser<Json>>;

template <typename Builder>
Status ParseError(std::string_view text, std::string_view source_name, const Builder& builder) {
  // The position counts the characters read, so the offending one is at index position - 1
  // (or just past the end when the input ended too soon).
  size_t index = std::min(builder.position() == 0 ? 0 : builder.position() - 1, text.size());
  std::string_view before = text.substr(0, index);
  size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  size_t line_start = before.rfind('\n');
  size_t column = index - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  return InvalidArgument("{}:{}:{}: {}", source_name, line, column, builder.what());
}

}  // namespace

Result<Json> ParseJson(std::string_view text, std::string_view source_name) {
  Json root;
  DomBuilder builder(root, /*allow_exceptions_=*/false);
  if (Json::sax_parse(text.begin(), text.end(), &builder)) return root;
  return Err(ParseError(text, source_name, builder));
}

Result<Json> ParseJsonFiltered(std::string_view text, std::string_view source_name,
                               const JsonFilter& filter) {
  Json root;
  FilteringBuilder builder(root, filter, /*allow_exceptions_=*/false);
  if (Json::sax_parse(text.begin(), text.end(), &builder)) {
    if (root.is_discarded()) root = Json();
    return root;
  }
  return Err(ParseError(text, source_name, builder));
}

std::string CanonicalJson(const Json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace ferry
