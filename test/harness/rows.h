// The text form of a query result, as the harness servers' Query() returns it.
#ifndef FERRY_TEST_HARNESS_ROWS_H_
#define FERRY_TEST_HARNESS_ROWS_H_

#include <optional>
#include <string>
#include <vector>

namespace ferry::testing {

// One value in the server's text format ("42", "t", "2024-01-31 10:00:00"); std::nullopt is SQL
// NULL, so NULL and the empty string stay distinct. Compares directly with a string literal:
// EXPECT_EQ(rows[0][0], "42").
using Cell = std::optional<std::string>;
using Row = std::vector<Cell>;
using Rows = std::vector<Row>;

}  // namespace ferry::testing

#endif  // FERRY_TEST_HARNESS_ROWS_H_
