#include "base/json.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/hash.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(JsonTest, ParsesADocument) {
  Result<Json> value = ParseJson(R"( {"b": [1, 2.5, "x"], "a": {"n": null, "t": true}} )", "doc");
  ASSERT_TRUE(value.has_value()) << value.error().ToString();
  EXPECT_EQ((*value)["b"][1], 2.5);
  EXPECT_TRUE((*value)["a"]["n"].is_null());
  EXPECT_EQ((*value)["a"]["t"], true);
}

TEST(JsonTest, ErrorNamesSourceLineAndColumn) {
  // The parser stops at the newline that ends the bad literal `tru`.
  Result<Json> value = ParseJson("{\n  \"a\": 1,\n  \"b\": tru\n}", "events.json");
  ASSERT_FALSE(value.has_value());
  EXPECT_EQ(value.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(value.error().message(),
              StartsWith("events.json:3:11: syntax error while parsing value - invalid literal"));
}

TEST(JsonTest, ErrorAtEndOfInput) {
  EXPECT_THAT(ParseJson("[1, 2", "s").error().message(),
              StartsWith("s:1:6: syntax error while parsing array - unexpected end of input"));
  EXPECT_THAT(ParseJson("", "empty").error().message(), StartsWith("empty:1:1: "));
}

TEST(JsonTest, TrailingGarbageIsAnError) {
  EXPECT_THAT(ParseJson("[1]\n x", "s").error().message(),
              StartsWith("s:2:2: syntax error while parsing value - invalid literal"));
}

TEST(JsonTest, NumberOverflowHasAPositionToo) {
  EXPECT_EQ(ParseJson("{\"a\":\n [1e400]}", "s").error().message(),
            "s:2:7: number overflow parsing '1e400'");
}

TEST(JsonTest, InvalidUtf8IsAnError) {
  EXPECT_THAT(ParseJson("\"ok\xff\"", "s").error().message(), HasSubstr("ill-formed UTF-8 byte"));
}

TEST(JsonTest, FilteredParseSkipsKeysAndDropsFinishedObjects) {
  // Keep the names of the rows, read each row as it ends and drop it, skip "blob" everywhere.
  std::vector<int64_t> ids;
  auto filter = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key) return parsed != "blob";
    if (event == Json::parse_event_t::object_end && depth == 2) {
      ids.push_back(parsed["id"].get<int64_t>());
      return false;
    }
    return true;
  };
  Result<Json> value = ParseJsonFiltered(
      R"({"rows": [{"id": 1, "blob": "x"}, {"id": 2, "blob": [1, 2]}], "blob": 3, "n": 2})", "doc",
      filter);
  ASSERT_TRUE(value.has_value()) << value.error().ToString();
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(*value, Json::parse(R"({"rows": [], "n": 2})"));
}

TEST(JsonTest, FilteredParseErrorsNameTheLineAndColumn) {
  auto keep = [](int, Json::parse_event_t, Json&) { return true; };
  Result<Json> value = ParseJsonFiltered("{\n  \"a\": [1,\n  2,", "cut.json", keep);
  ASSERT_FALSE(value.has_value());
  EXPECT_THAT(value.error().message(), StartsWith("cut.json:3:5: "));
  // A filter that drops the whole document leaves null, not a discarded value.
  auto none = [](int, Json::parse_event_t, Json&) { return false; };
  Result<Json> dropped = ParseJsonFiltered("{\"a\": 1}", "d", none);
  ASSERT_TRUE(dropped.has_value());
  EXPECT_TRUE(dropped->is_null());
}

TEST(JsonTest, CanonicalFormIsSortedAndCompact) {
  Json value =
      ParseJson(R"({"z": 1, "a": {"y": [true, null], "b": "é\n"}, "m": 0.1})", "s").value();
  EXPECT_EQ(CanonicalJson(value), "{\"a\":{\"b\":\"é\\n\",\"y\":[true,null]},\"m\":0.1,\"z\":1}");
}

TEST(JsonTest, CanonicalFormIgnoresInputOrderAndSpacing) {
  Json a = ParseJson(R"({"id": 7, "tags": ["x", "y"], "ratio": 1.5e0})", "a").value();
  Json b = ParseJson("{\"ratio\":1.5,\n\"tags\":[\"x\",\"y\"],   \"id\":7}", "b").value();
  EXPECT_EQ(CanonicalJson(a), CanonicalJson(b));
  EXPECT_EQ(Sha256Hex(CanonicalJson(a)), Sha256Hex(CanonicalJson(b)));
}

TEST(JsonTest, CanonicalRoundTrip) {
  Json value = {{"name", "invoice"}, {"rows", 1'000'000'000'000LL}, {"neg", -3},
                {"ratio", 2.5},      {"list", {1, "two", nullptr}}, {"nested", {{"k", "v"}}}};
  std::string text = CanonicalJson(value);
  Json parsed = ParseJson(text, "round trip").value();
  EXPECT_EQ(parsed, value);
  EXPECT_EQ(CanonicalJson(parsed), text);
}

TEST(JsonTest, CanonicalReplacesInvalidUtf8) {
  Json value = std::string("a\xff");
  EXPECT_EQ(CanonicalJson(value), "\"a\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace ferry
