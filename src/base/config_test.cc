#include "base/config.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest() : env_(Env::Default()) {
    env_.SetEnvVar("FERRY_TEST_HOST", "db.internal");
    env_.SetEnvVar("FERRY_TEST_EMPTY", "");
    env_.SetEnvVar("FERRY_TEST_UNSET", std::nullopt);
  }

  ConfigDocument Parse(std::string_view text) {
    Result<ConfigDocument> document = ParseConfig(text, "ferry.yaml", &env_);
    EXPECT_TRUE(document.has_value()) << document.error().ToString();
    return document.value();
  }

  std::string ParseError(std::string_view text) {
    Result<ConfigDocument> document = ParseConfig(text, "ferry.yaml", &env_);
    if (document.has_value()) return "parsed without error";
    EXPECT_EQ(document.error().code(), StatusCode::kInvalidArgument);
    return document.error().message();
  }

  FaultInjectionEnv env_;
};

constexpr char kConfig[] = R"(# ferry configuration
store:
  url: "postgres://${FERRY_TEST_HOST}:5432/ferry"
  pool_size: 8
  timeout: 1m30s
  tls: yes
  ratio: 0.75
  empty:
  tables: [invoice, "line item", ~]
sources:
  - name: a
    port: 5432
  - name: b
    port: fifty
)";

TEST_F(ConfigTest, ReadsTypedValues) {
  ConfigDocument config = Parse(R"(
store:
  url: "postgres://${FERRY_TEST_HOST}:5432/ferry"
  pool_size: 8
  offset: -3
  quoted: "+42"
  timeout: 1m30s
  tls: yes
  verify: Off
  ratio: 0.75
  empty:
  tables: [invoice, "line item"]
)");
  ConfigNode store = config.root().Child("store");
  EXPECT_EQ(store.path(), "store");
  EXPECT_EQ(store.GetString("url").value(), "postgres://db.internal:5432/ferry");
  EXPECT_EQ(store.GetInt("pool_size").value(), 8);
  EXPECT_EQ(store.GetInt("offset").value(), -3);
  EXPECT_EQ(store.GetInt("quoted").value(), 42);
  EXPECT_EQ(store.GetDurationMicros("timeout").value(), 90'000'000);
  EXPECT_EQ(store.GetBool("tls").value(), true);
  EXPECT_EQ(store.GetBool("verify").value(), false);
  EXPECT_EQ(store.GetDouble("ratio").value(), 0.75);
  EXPECT_EQ(store.GetDouble("pool_size").value(), 8.0);
  EXPECT_EQ(store.GetString("pool_size").value(), "8") << "a scalar is always a string";
  EXPECT_THAT(store.GetStringList("tables").value(), ElementsAre("invoice", "line item"));

  // Absent and null keys read as nothing.
  EXPECT_EQ(store.GetString("empty").value(), std::nullopt);
  EXPECT_EQ(store.GetInt("missing").value(), std::nullopt);
  EXPECT_TRUE(store.GetStringList("missing").value().empty());
  EXPECT_TRUE(store.Has("url"));
  EXPECT_FALSE(store.Has("empty"));
  EXPECT_FALSE(store.Has("missing"));
  EXPECT_THAT(store.Keys().value(), ElementsAre("url", "pool_size", "offset", "quoted", "timeout",
                                                "tls", "verify", "ratio", "empty", "tables"));
}

TEST_F(ConfigTest, MissingChildIsAbsentButNamed) {
  ConfigDocument config = Parse("store:\n  url: x\n");
  ConfigNode tls = config.root().Child("store").Child("tls");
  EXPECT_EQ(tls.path(), "store.tls");
  EXPECT_EQ(tls.GetString("cert").value(), std::nullopt);
  EXPECT_TRUE(tls.Keys().value().empty());
  EXPECT_TRUE(tls.CheckKnownKeys({"cert"}).ok());
  // A check on the absent node points at its nearest present ancestor, `store:` on line 1.
  EXPECT_EQ(tls.Invalid("cert", "expected a PEM file, got nothing").message(),
            "ferry.yaml:2:3: key `store.tls.cert`: expected a PEM file, got nothing");
}

TEST_F(ConfigTest, EmptyDocumentIsAnEmptyMapping) {
  for (std::string_view text : {"", "# only a comment\n", "---\n"}) {
    ConfigDocument config = Parse(text);
    EXPECT_EQ(config.root().GetString("x").value(), std::nullopt);
    EXPECT_TRUE(config.root().CheckKnownKeys({}).ok());
  }
}

TEST_F(ConfigTest, WrongTypeNamesFileLineKeyAndType) {
  ConfigDocument config = Parse(kConfig);
  ConfigNode store = config.root().Child("store");
  EXPECT_EQ(store.GetInt("url").error().message(),
            "ferry.yaml:3:8: key `store.url`: expected an integer, got "
            "\"postgres://db.internal:5432/ferry\"");
  EXPECT_EQ(store.GetBool("pool_size").error().message(),
            "ferry.yaml:4:14: key `store.pool_size`: expected true or false, got \"8\"");
  EXPECT_EQ(store.GetDouble("tls").error().message(),
            "ferry.yaml:6:8: key `store.tls`: expected a number, got \"yes\"");
  EXPECT_EQ(store.GetDurationMicros("pool_size").error().message(),
            "ferry.yaml:4:14: key `store.pool_size`: expected a duration such as 250ms, 30s, "
            "10m, 2h or 1d, got \"8\"");
  EXPECT_EQ(store.GetString("tables").error().message(),
            "ferry.yaml:9:11: key `store.tables`: expected a string, got a list");
  EXPECT_EQ(config.root().GetString("store").error().message(),
            "ferry.yaml:3:3: key `store`: expected a string, got a mapping");
  EXPECT_EQ(store.GetStringList("tables").error().message(),
            "ferry.yaml:9:34: key `store.tables[2]`: expected a string, got null");
  EXPECT_EQ(store.GetStringList("url").error().message(),
            "ferry.yaml:3:8: key `store.url`: expected a list of strings, got "
            "\"postgres://db.internal:5432/ferry\"");
}

TEST_F(ConfigTest, IntegerOutOfRange) {
  ConfigDocument config = Parse("rows: 99999999999999999999\n");
  EXPECT_EQ(config.root().GetInt("rows").error().message(),
            "ferry.yaml:1:7: key `rows`: expected an integer that fits in 64 bits, got "
            "\"99999999999999999999\"");
}

TEST_F(ConfigTest, ListOfMappingsNamesTheElement) {
  ConfigDocument config = Parse(kConfig);
  Result<std::vector<ConfigNode>> sources = config.root().GetList("sources");
  ASSERT_TRUE(sources.has_value()) << sources.error().ToString();
  ASSERT_EQ(sources->size(), 2u);
  EXPECT_EQ((*sources)[0].path(), "sources[0]");
  EXPECT_EQ((*sources)[0].GetString("name").value(), "a");
  EXPECT_EQ((*sources)[0].GetInt("port").value(), 5432);
  EXPECT_EQ((*sources)[1].GetInt("port").error().message(),
            "ferry.yaml:14:11: key `sources[1].port`: expected an integer, got \"fifty\"");
  EXPECT_EQ(config.root().GetList("store").error().message(),
            "ferry.yaml:3:3: key `store`: expected a list, got a mapping");
}

TEST_F(ConfigTest, NodeThatIsNotAMappingReportsItself) {
  ConfigDocument config = Parse("store: sqlite:///var/lib/ferry.db\n");
  ConfigNode store = config.root().Child("store");
  const std::string expected =
      "ferry.yaml:1:8: key `store`: expected a mapping, got \"sqlite:///var/lib/ferry.db\"";
  EXPECT_EQ(store.GetString("url").error().message(), expected);
  EXPECT_EQ(store.CheckKnownKeys({"url"}).message(), expected);
  EXPECT_EQ(store.Keys().error().message(), expected);
  // The error travels down to nodes below it.
  ConfigNode cert = store.Child("tls").Child("cert");
  EXPECT_EQ(cert.path(), "store.tls.cert");
  EXPECT_EQ(cert.GetString("file").error().message(), expected);
  EXPECT_FALSE(store.Has("url"));
}

TEST_F(ConfigTest, TopLevelMustBeAMapping) {
  ConfigDocument config = Parse("- a\n- b\n");
  EXPECT_EQ(config.root().GetString("a").error().message(),
            "ferry.yaml:1:1: expected a mapping, got a list");
}

TEST_F(ConfigTest, UnknownKeySuggestsTheClosest) {
  ConfigDocument config = Parse("store:\n  url: x\n  pool_sise: 4\n");
  Status status = config.root().Child("store").CheckKnownKeys({"url", "pool_size", "timeout"});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "ferry.yaml:3:3: key `store.pool_sise`: expected one of `url`, `pool_size`, "
            "`timeout`, got `pool_sise`; did you mean `pool_size`?");
  EXPECT_TRUE(config.root().CheckKnownKeys({"store"}).ok());
}

TEST_F(ConfigTest, UnknownKeySuggestionHandlesTranspositionAndCase) {
  ConfigDocument config = Parse("ulr: x\n");
  EXPECT_THAT(config.root().CheckKnownKeys({"url", "user"}).message(),
              HasSubstr("did you mean `url`?"));
  EXPECT_THAT(Parse("URL: x\n").root().CheckKnownKeys({"url"}).message(),
              HasSubstr("did you mean `url`?"));
  EXPECT_EQ(Parse("colour: x\n").root().CheckKnownKeys({"url", "user"}).message(),
            "ferry.yaml:1:1: key `colour`: expected one of `url`, `user`, got `colour`");
}

TEST_F(ConfigTest, InvalidPointsAtTheValue) {
  ConfigDocument config = Parse("mode:   sync\n");
  EXPECT_EQ(config.root().Invalid("mode", "expected one of copy, cdc, got \"sync\"").message(),
            "ferry.yaml:1:9: key `mode`: expected one of copy, cdc, got \"sync\"");
  EXPECT_EQ(config.root().Invalid("", "expected a store or a source").message(),
            "ferry.yaml:1:1: expected a store or a source");
}

TEST_F(ConfigTest, Interpolation) {
  ConfigDocument config = Parse(R"(
a: ${FERRY_TEST_HOST}
b: ${FERRY_TEST_UNSET:-fallback value}
c: ${FERRY_TEST_EMPTY:-used when empty}
d: ${FERRY_TEST_EMPTY}
e: "$${FERRY_TEST_HOST} costs $5 and ${FERRY_TEST_HOST}/${FERRY_TEST_UNSET:-}"
f: ${FERRY_TEST_UNSET:-a:-b}
)");
  ConfigNode root = config.root();
  EXPECT_EQ(root.GetString("a").value(), "db.internal");
  EXPECT_EQ(root.GetString("b").value(), "fallback value");
  EXPECT_EQ(root.GetString("c").value(), "used when empty");
  EXPECT_EQ(root.GetString("d").value(), "");
  EXPECT_EQ(root.GetString("e").value(), "${FERRY_TEST_HOST} costs $5 and db.internal/");
  EXPECT_EQ(root.GetString("f").value(), "a:-b");
}

TEST_F(ConfigTest, InterpolatedValueIsTypeChecked) {
  env_.SetEnvVar("FERRY_TEST_PORT", "54x2");
  ConfigDocument config = Parse("port: ${FERRY_TEST_PORT}\n");
  EXPECT_EQ(config.root().GetInt("port").error().message(),
            "ferry.yaml:1:7: key `port`: expected an integer, got \"54x2\"");
}

TEST_F(ConfigTest, UnsetVariableWithoutDefault) {
  EXPECT_EQ(ParseError("store:\n  password: ${FERRY_TEST_UNSET}\n"),
            "ferry.yaml:2:13: key `store.password`: expected environment variable "
            "FERRY_TEST_UNSET to be set, got nothing; set it or write "
            "${FERRY_TEST_UNSET:-default}");
}

TEST_F(ConfigTest, VariablesComeFromTheEnv) {
  ASSERT_EQ(::setenv("FERRY_CONFIG_TEST_REAL", "from process", 1), 0);
  Result<ConfigDocument> config = ParseConfig("v: ${FERRY_CONFIG_TEST_REAL}", "x", Env::Default());
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->root().GetString("v").value(), "from process");
  ASSERT_EQ(::unsetenv("FERRY_CONFIG_TEST_REAL"), 0);
}

TEST_F(ConfigTest, BadInterpolationSyntax) {
  EXPECT_EQ(ParseError("a: x${HOME\n"),
            "ferry.yaml:1:4: key `a`: expected `}` to close `${`, got the end of the value; "
            "write $${ for a literal ${");
  EXPECT_EQ(ParseError("list:\n  - ${1ST:-x}\n"),
            "ferry.yaml:2:5: key `list[0]`: expected a variable name (letters, digits, _) in "
            "`${1ST:-x}`, got `1ST`");
}

TEST_F(ConfigTest, MalformedYamlNamesLineAndColumn) {
  std::string message = ParseError("store:\n  url: [a, b\n  pool: 3\n");
  EXPECT_THAT(message, StartsWith("ferry.yaml:"));
  EXPECT_THAT(message, HasSubstr(": invalid YAML: "));
  EXPECT_EQ(ParseError("a: b: c\n"), "ferry.yaml:1:5: invalid YAML: illegal map value");
}

TEST_F(ConfigTest, DuplicateKeyIsAnError) {
  EXPECT_EQ(ParseError("store:\n  url: a\n  url: b\n"),
            "ferry.yaml:3:3: key `store.url`: expected each key once, got it again (first at "
            "line 2)");
}

TEST_F(ConfigTest, SeveralDocumentsAreAnError) {
  EXPECT_EQ(ParseError("a: 1\n---\nb: 2\n"), "ferry.yaml:3:1: expected one YAML document, got 2");
}

TEST_F(ConfigTest, SelfReferentialAliasIsBounded) {
  EXPECT_THAT(ParseError("a: &loop [*loop]\n"),
              HasSubstr("expected at most 64 levels of nesting, got more"));
}

TEST_F(ConfigTest, ExponentialAliasesAreBounded) {
  std::string text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 7; ++i) {
    text += fmt::format(
        "l{0}: &l{0} [*l{1}, *l{1}, *l{1}, *l{1}, *l{1}, *l{1}, *l{1}, *l{1}, "
        "*l{1}, *l{1}]\n",
        i, i - 1);
  }
  EXPECT_THAT(ParseError(text), HasSubstr("expected at most 1000000 values, got more"));
}

TEST_F(ConfigTest, NodesOutliveTheDocument) {
  ConfigNode store = [this] { return Parse("store:\n  url: kept\n").root().Child("store"); }();
  EXPECT_EQ(store.GetString("url").value(), "kept");
}

TEST_F(ConfigTest, LoadConfigFileRoundTrip) {
  std::string dir = ::testing::TempDir() + "ferry_config_test_XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/ferry.yaml";
  ASSERT_TRUE(env_.WriteFileAtomic(path, "store:\n  url: ${FERRY_TEST_HOST}\n").ok());
  Result<ConfigDocument> config = LoadConfigFile(path, &env_);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->source(), path);
  EXPECT_EQ(config->root().Child("store").GetString("url").value(), "db.internal");

  ASSERT_TRUE(env_.WriteFileAtomic(path, "store:\n  pool: many\n").ok());
  EXPECT_EQ(LoadConfigFile(path, &env_)->root().Child("store").GetInt("pool").error().message(),
            path + ":2:9: key `store.pool`: expected an integer, got \"many\"");
  ASSERT_TRUE(env_.RemoveAll(dir).ok());
}

TEST_F(ConfigTest, LoadMissingFileSaysWhatToDo) {
  Result<ConfigDocument> config = LoadConfigFile("/nonexistent/ferry.yaml", &env_);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(config.error().message(),
            "config file /nonexistent/ferry.yaml does not exist; create it, or give the path of "
            "an existing one");
}

TEST(ParseDurationTest, Valid) {
  EXPECT_EQ(ParseDurationMicros("0").value(), 0);
  EXPECT_EQ(ParseDurationMicros("250us").value(), 250);
  EXPECT_EQ(ParseDurationMicros("250ms").value(), 250'000);
  EXPECT_EQ(ParseDurationMicros("30s").value(), 30'000'000);
  EXPECT_EQ(ParseDurationMicros("10m").value(), 600'000'000);
  EXPECT_EQ(ParseDurationMicros("2h").value(), 7'200'000'000);
  EXPECT_EQ(ParseDurationMicros("1d").value(), 86'400'000'000);
  EXPECT_EQ(ParseDurationMicros("1h30m").value(), 5'400'000'000);
  EXPECT_EQ(ParseDurationMicros("1m500ms").value(), 60'500'000);
}

TEST(ParseDurationTest, Invalid) {
  for (std::string_view text :
       {"", "30", "s", "1.5s", "-1s", "+1s", "5 minutes", "1x", "1h30", "10M", " 1s"}) {
    Result<int64_t> micros = ParseDurationMicros(text);
    ASSERT_FALSE(micros.has_value()) << text;
    EXPECT_EQ(micros.error().message(),
              fmt::format("invalid duration \"{}\": expected a number and a unit (us, ms, s, m, "
                          "h, d) such as 250ms, 30s or 1h30m",
                          text));
  }
}

TEST(ParseDurationTest, Overflow) {
  EXPECT_EQ(ParseDurationMicros("106751991d").value(), 106'751'991LL * 86'400'000'000LL);
  EXPECT_THAT(ParseDurationMicros("106751992d").error().message(), HasSubstr("too long"));
  EXPECT_THAT(ParseDurationMicros("99999999999999999999999us").error().message(),
              HasSubstr("too long"));
  EXPECT_THAT(ParseDurationMicros("106751991d106751991d").error().message(), HasSubstr("too long"));
}

}  // namespace
}  // namespace ferry
