// The SWIFT MT -> ISO 20022 cases (../shared/data/swift; its README.md explains the layout):
// each case's input.mt is parsed, validated and translated, and the XML compared with
// expected.xml as the reference test compares them (swift_test_xml.h); each translation goes
// back to its MT, which must keep every mapped field (RoundTripDiff). Skips when the shared
// data is not beside the clone.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "legacy/swift_mt.h"
#include "legacy/swift_mx.h"
#include "legacy/swift_test_xml.h"

namespace ferry::legacy {
namespace {

std::string SwiftDir() { return std::string(FERRY_SOURCE_DIR) + "/../shared/data/swift"; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return std::move(s).str();
}

struct Case {
  std::string name;
  std::string msg_def_idr;
  std::string mt;  // "103", "202", "202COV", "205COV"
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> Cases() {
  std::vector<Case> out;
  const std::string index = SwiftDir() + "/cases.json";
  if (!std::filesystem::exists(index)) return {{"shared_data_absent", "", ""}};
  for (const auto& c : nlohmann::json::parse(ReadAll(index))) {
    out.push_back({c.at("case").get<std::string>(), c.at("msg_def_idr").get<std::string>(),
                   c.at("mt").get<std::string>()});
  }
  return out;
}

class SwiftCaseTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (GetParam().msg_def_idr.empty()) {
      GTEST_SKIP() << SwiftDir() << " not found: the shared datasets are not beside this clone";
    }
    input_ = ReadAll(SwiftDir() + "/" + GetParam().name + "/input.mt");
    expected_ = ReadAll(SwiftDir() + "/" + GetParam().name + "/expected.xml");
  }
  std::string input_;
  std::string expected_;
};

TEST_P(SwiftCaseTest, ParsesAndValidates) {
  Result<MtMessage> m = ParseMt(input_);
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_TRUE(ValidateMt(*m).ok()) << ValidateMt(*m).ToString();
  EXPECT_FALSE(m->fields.empty());
}

TEST_P(SwiftCaseTest, TranslatesToExpectedXml) {
  Result<MxDocument> mx = TranslateMtTextToMx(input_);
  ASSERT_TRUE(mx.has_value()) << mx.error().ToString();
  EXPECT_EQ(mx->message_definition, GetParam().msg_def_idr);
  EXPECT_EQ(testing::XmlDiff(expected_, mx->xml), "") << mx->xml;
}

TEST_P(SwiftCaseTest, RoundTripKeepsEveryMappedField) {
  Result<MtMessage> m = ParseMt(input_);
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  Result<MxDocument> mx = TranslateMtToMx(*m);
  ASSERT_TRUE(mx.has_value()) << mx.error().ToString();
  Result<std::string> back = TranslateMxToMt(mx->xml, {.output_header = m->direction == 'O'});
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  Result<MtMessage> again = ParseMt(*back);
  ASSERT_TRUE(again.has_value()) << again.error().ToString() << "\n" << *back;
  EXPECT_TRUE(ValidateMt(*again).ok()) << ValidateMt(*again).ToString() << "\n" << *back;
  EXPECT_EQ(testing::RoundTripDiff(*m, *again), "") << *back;
}

INSTANTIATE_TEST_SUITE_P(Shared, SwiftCaseTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

}  // namespace
}  // namespace ferry::legacy
