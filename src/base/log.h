// Structured, process-wide logging: one record per line, a message plus key=value fields.
//
//   LogInfo("claimed chunk", {{"table", "invoice"}, {"rows", 1000}});
//
// human: 2026-11-23T03:44:59.123Z INFO  claimed chunk table=invoice rows=1000
// json:  {"ts":"2026-11-23T03:44:59.123Z","level":"info","msg":"claimed chunk",
//         "table":"invoice","rows":1000}              (one object per line; wrapped here)
//
// Timestamps are UTC wall-clock time with millisecond precision. Fields whose key looks like a
// secret (it contains `password`, `passwd`, `secret` or `token`, or ends in `_key`; any case)
// are written as `***` whatever their value. Only keys are looked at: a secret inside a value
// (a URL with a password in it) must be removed by the caller.
//
// Thread-safety: every function here may be called from any thread. A record is formatted by
// the calling thread and handed to the sink under a lock, so lines never interleave.
#ifndef FERRY_BASE_LOG_H_
#define FERRY_BASE_LOG_H_

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ferry {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kHuman, kJson };

struct LogOptions {
  // Records below this level are dropped before they are formatted.
  LogLevel level = LogLevel::kInfo;
  // kHuman for a person at a terminal; kJson for a log collector (one object per line).
  LogFormat format = LogFormat::kHuman;
  // ANSI colour of the level in the human format. nullopt: colour only when the sink is the
  // default one and stderr is a terminal. Ignored by the JSON format.
  std::optional<bool> color;
};

// Replaces the options of every later record. Until it is first called: LogOptions{}.
void ConfigureLogging(const LogOptions& options);

// "debug", "info", "warn" or "error" (any case); the error lists the choices.
[[nodiscard]] Result<LogLevel> ParseLogLevel(std::string_view text);
// "human" or "json" (any case); the error lists the choices.
[[nodiscard]] Result<LogFormat> ParseLogFormat(std::string_view text);

// One key=value of a record. Strings are written quoted in JSON (and in the human format when
// they contain a space, a quote, `=` or a control character); numbers and booleans bare.
// Non-finite doubles are written as the strings "NaN", "Infinity" and "-Infinity".
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v), quoted(true) {}
  LogField(std::string_view k, const char* v) : LogField(k, std::string_view(v)) {}
  LogField(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), quoted(false) {}
  template <std::integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>)
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)), quoted(false) {}
  LogField(std::string_view k, double v);

  std::string key;
  std::string value;
  bool quoted;  // a string (quoted in JSON) rather than a number or a boolean
};

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
inline void LogDebug(std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kDebug, message, fields);
}
inline void LogInfo(std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, message, fields);
}
inline void LogWarn(std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarn, message, fields);
}
inline void LogError(std::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, message, fields);
}

// Receives each formatted record, without the trailing newline.
using LogSink = std::function<void(std::string_view line)>;

// Replaces the sink (by default one that writes each line and a newline to stderr in a single
// write(2)) and returns the previous one; an empty `sink` restores the default. Once this
// returns, the previous sink is no longer being called. A sink must not log: it runs under the
// logging lock.
LogSink SetLogSink(LogSink sink);

// One record as Log would format it, without colour and without the trailing newline, for a
// log that is not this process's own (a child's log file, to which ferry adds a line).
[[nodiscard]] std::string FormatLogRecord(LogFormat format, LogLevel level,
                                          std::string_view message,
                                          std::initializer_list<LogField> fields = {});

}  // namespace ferry

#endif  // FERRY_BASE_LOG_H_
