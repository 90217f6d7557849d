#include "store/sql_connection.h"

#include <charconv>

namespace ferry::store_internal {

Result<int64_t> ToInt(const SqlValue& value, std::string_view what) {
  if (!value.has_value()) {
    return Err(DataLoss("store: {} is NULL where a number was expected", what));
  }
  int64_t out = 0;
  const char* begin = value->data();
  const char* end = begin + value->size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  if (ec != std::errc() || ptr != end) {
    return Err(DataLoss("store: {} is '{}' where a number was expected", what, *value));
  }
  return out;
}

}  // namespace ferry::store_internal
