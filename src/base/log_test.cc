#include "base/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ferry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kTimestamp[] = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z";

// Captures every record into `lines_` and restores the logging defaults afterwards.
class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = SetLogSink([this](std::string_view line) { lines_.emplace_back(line); });
  }
  void TearDown() override {
    SetLogSink(previous_);
    ConfigureLogging(LogOptions{});
  }

  void Configure(LogFormat format, LogLevel level = LogLevel::kInfo, bool color = false) {
    ConfigureLogging(LogOptions{.level = level, .format = format, .color = color});
  }

  nlohmann::json OnlyJsonLine() {
    EXPECT_EQ(lines_.size(), 1u);
    if (lines_.empty()) return nullptr;
    return nlohmann::json::parse(lines_.back());
  }

  LogSink previous_;
  std::vector<std::string> lines_;
};

TEST_F(LogTest, HumanFormat) {
  Configure(LogFormat::kHuman);
  LogInfo("claimed chunk", {{"table", "invoice"}, {"rows", 1000}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], MatchesRegex(std::string(kTimestamp) +
                                      " INFO  claimed chunk table=invoice rows=1000"));
}

TEST_F(LogTest, HumanFormatQuotesValuesThatNeedIt) {
  Configure(LogFormat::kHuman);
  LogWarn("two\nlines", {{"note", "two words"},
                         {"empty", ""},
                         {"quote", R"(say "hi"\)"},
                         {"eq", "a=b"},
                         {"ok", true},
                         {"ratio", 0.25}});
  ASSERT_EQ(lines_.size(), 1u);
  std::string line = lines_[0].substr(lines_[0].find(' ') + 1);
  EXPECT_EQ(line,
            "WARN  two\\nlines note=\"two words\" empty=\"\" quote=\"say \\\"hi\\\"\\\\\" "
            "eq=\"a=b\" ok=true ratio=0.25");
}

TEST_F(LogTest, HumanFormatColoursTheLevelOnly) {
  Configure(LogFormat::kHuman, LogLevel::kInfo, /*color=*/true);
  LogError("boom");
  LogInfo("fine");
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_THAT(lines_[0], HasSubstr(" \x1b[31mERROR\x1b[0m boom"));
  EXPECT_THAT(lines_[1], HasSubstr(" \x1b[32mINFO\x1b[0m  fine"));
}

TEST_F(LogTest, NoColourUnlessAskedWithACustomSink) {
  ConfigureLogging(LogOptions{.format = LogFormat::kHuman});  // color: automatic
  LogError("boom");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], Not(HasSubstr("\x1b")));
}

TEST_F(LogTest, JsonFormatHasTypedFields) {
  Configure(LogFormat::kJson, LogLevel::kInfo, /*color=*/true);
  LogInfo("claimed chunk", {{"table", "invoice"},
                            {"rows", 1000},
                            {"big", uint64_t{18'446'744'073'709'551'615u}},
                            {"delta", int64_t{-5}},
                            {"done", false},
                            {"ratio", 0.5},
                            {"nan", std::nan("")},
                            {"count", "42"}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], MatchesRegex("\\{\"ts\":\"" + std::string(kTimestamp) +
                                      "\",\"level\":\"info\",\"msg\":\"claimed chunk\",.*"));
  nlohmann::json record = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(record["msg"], "claimed chunk");
  EXPECT_EQ(record["table"], "invoice");
  EXPECT_EQ(record["rows"], 1000);
  EXPECT_EQ(record["big"].get<uint64_t>(), 18'446'744'073'709'551'615u);
  EXPECT_EQ(record["delta"], -5);
  EXPECT_EQ(record["done"], false);
  EXPECT_EQ(record["ratio"], 0.5);
  EXPECT_EQ(record["nan"], "NaN");
  EXPECT_EQ(record["count"], "42") << "a string stays a string even when it looks numeric";
}

TEST_F(LogTest, JsonEscapesAndSurvivesInvalidUtf8) {
  Configure(LogFormat::kJson);
  LogError("quote \" backslash \\ newline \n", {{"bytes", std::string_view("\xff\xfe", 2)}});
  nlohmann::json record = OnlyJsonLine();
  EXPECT_EQ(record["level"], "error");
  EXPECT_EQ(record["msg"], "quote \" backslash \\ newline \n");
  EXPECT_EQ(record["bytes"], "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(LogTest, SecretsAreRedacted) {
  Configure(LogFormat::kJson);
  LogInfo("connect", {{"password", "hunter2"},
                      {"DB_PASSWORD", "hunter2"},
                      {"api_token", "t0k"},
                      {"client_secret", "s"},
                      {"aws_access_key", "AKIA"},
                      {"pin_count", 3},
                      {"keyspace", "k"},
                      {"user", "ferry"}});
  nlohmann::json record = OnlyJsonLine();
  for (const char* key :
       {"password", "DB_PASSWORD", "api_token", "client_secret", "aws_access_key"}) {
    EXPECT_EQ(record[key], "***") << key;
  }
  EXPECT_EQ(record["pin_count"], 3);
  EXPECT_EQ(record["keyspace"], "k");
  EXPECT_EQ(record["user"], "ferry");
  EXPECT_THAT(lines_[0], Not(HasSubstr("hunter2")));

  Configure(LogFormat::kHuman);
  LogInfo("connect", {{"password", "hunter 2"}});
  EXPECT_THAT(lines_.back(), HasSubstr(" connect password=***"));
}

TEST_F(LogTest, LevelFilters) {
  Configure(LogFormat::kJson, LogLevel::kWarn);
  LogDebug("d");
  LogInfo("i");
  LogWarn("w");
  LogError("e");
  Configure(LogFormat::kJson, LogLevel::kDebug);
  LogDebug("d2");
  std::vector<std::string> messages;
  for (const std::string& line : lines_) {
    messages.push_back(nlohmann::json::parse(line)["msg"].get<std::string>());
  }
  EXPECT_THAT(messages, ElementsAre("w", "e", "d2"));
}

TEST_F(LogTest, LinesFromManyThreadsNeverInterleave) {
  Configure(LogFormat::kJson);
  // This sink writes one character at a time into a shared buffer: only the logging lock keeps
  // two records apart.
  std::string stream;
  LogSink capture = SetLogSink([&stream](std::string_view line) {
    for (char c : line) {
      stream.push_back(c);
      if (c == ',') std::this_thread::yield();
    }
    stream.push_back('\n');
  });
  constexpr int kThreads = 8;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) LogInfo("tick", {{"thread", t}, {"i", i}});
    });
  }
  for (std::thread& thread : threads) thread.join();
  SetLogSink(capture);

  std::vector<int> next(kThreads, 0);
  size_t start = 0;
  int count = 0;
  for (size_t end; (end = stream.find('\n', start)) != std::string::npos; start = end + 1) {
    nlohmann::json record = nlohmann::json::parse(stream.substr(start, end - start));
    int t = record["thread"];
    EXPECT_EQ(record["i"], next[t]++) << "records of one thread keep their order";
    ++count;
  }
  EXPECT_EQ(count, kThreads * kLines);
}

TEST_F(LogTest, SetLogSinkReturnsThePreviousSink) {
  std::vector<std::string> other;
  LogSink mine = SetLogSink([&other](std::string_view line) { other.emplace_back(line); });
  LogInfo("to other");
  LogSink restored = SetLogSink(mine);
  LogInfo("to mine");
  EXPECT_EQ(other.size(), 1u);
  EXPECT_EQ(lines_.size(), 1u);
  ASSERT_TRUE(restored);
  restored("direct");
  EXPECT_EQ(other.back(), "direct");

  // An empty sink restores the default, which is returned as a callable sink.
  SetLogSink(nullptr);
  LogSink default_sink = SetLogSink(mine);
  EXPECT_TRUE(default_sink);
}

TEST_F(LogTest, DefaultSinkWritesWholeLinesToStderr) {
  Configure(LogFormat::kJson);
  std::string path = ::testing::TempDir() + "ferry_log_test_stderr";
  int file = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(file, 0);
  int saved_stderr = ::dup(STDERR_FILENO);
  ASSERT_EQ(::dup2(file, STDERR_FILENO), STDERR_FILENO);
  LogSink mine = SetLogSink(nullptr);
  LogWarn("to stderr", {{"n", 1}});
  LogWarn("again");
  SetLogSink(mine);
  ASSERT_EQ(::dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
  ::close(saved_stderr);

  std::string written(4096, '\0');
  ssize_t size = ::pread(file, written.data(), written.size(), 0);
  ::close(file);
  ::unlink(path.c_str());
  ASSERT_GT(size, 0);
  written.resize(static_cast<size_t>(size));
  size_t newline = written.find('\n');
  ASSERT_NE(newline, std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(written.substr(0, newline))["msg"], "to stderr");
  EXPECT_EQ(nlohmann::json::parse(written.substr(newline + 1))["msg"], "again");
  EXPECT_TRUE(written.ends_with("}\n"));
  EXPECT_TRUE(lines_.empty());
}

TEST_F(LogTest, FormatLogRecordMatchesWhatLogWrites) {
  // Formatted for another log, whatever this process's own settings (here human, coloured).
  Configure(LogFormat::kJson);
  LogInfo("attempt again", {{"attempt", 2}, {"api_key", "hunter2"}});
  Configure(LogFormat::kHuman, LogLevel::kError, /*color=*/true);
  const std::string json = FormatLogRecord(LogFormat::kJson, LogLevel::kInfo, "attempt again",
                                           {{"attempt", 2}, {"api_key", "hunter2"}});
  ASSERT_EQ(lines_.size(), 1u);
  nlohmann::json logged = nlohmann::json::parse(lines_[0]);
  nlohmann::json formatted = nlohmann::json::parse(json);
  logged.erase("ts");
  EXPECT_THAT(formatted["ts"].get<std::string>(), MatchesRegex(kTimestamp));
  formatted.erase("ts");
  EXPECT_EQ(formatted, logged);
  EXPECT_EQ(formatted["api_key"], "***");
  EXPECT_THAT(FormatLogRecord(LogFormat::kHuman, LogLevel::kWarn, "x", {{"n", 1}}),
              MatchesRegex(std::string(kTimestamp) + " WARN  x n=1"));
  EXPECT_TRUE(lines_.size() == 1u) << "formatting a record does not log it";
}

TEST(LogParseTest, LevelsAndFormats) {
  EXPECT_EQ(ParseLogLevel("debug").value(), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("INFO").value(), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warn").value(), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("Error").value(), LogLevel::kError);
  Result<LogLevel> bad = ParseLogLevel("verbose");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(
      bad.error(),
      InvalidArgument("unknown log level \"verbose\"; expected one of debug, info, warn, error"));

  EXPECT_EQ(ParseLogFormat("json").value(), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("Human").value(), LogFormat::kHuman);
  EXPECT_EQ(ParseLogFormat("xml").error().message(),
            "unknown log format \"xml\"; expected one of human, json");
}

}  // namespace
}  // namespace ferry
