#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

namespace ferry {
namespace {

void WriteToStderr(std::string_view line) {
  // One write(2) per record keeps lines whole even when other processes share the stream.
  std::string buffer;
  buffer.reserve(line.size() + 1);
  buffer.append(line);
  buffer.push_back('\n');
  std::string_view left = buffer;
  while (!left.empty()) {
    ssize_t n = ::write(STDERR_FILENO, left.data(), left.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr is gone; there is nowhere left to report it
    }
    left.remove_prefix(static_cast<size_t>(n));
  }
}

bool IsDefaultSink(const LogSink& sink) {
  auto* target = sink.target<void (*)(std::string_view)>();
  return target != nullptr && *target == &WriteToStderr;
}

class Logger {
 public:
  static Logger& Get() {
    // Leaked so that logging keeps working while other static objects are destroyed.
    static auto* const kLogger = new Logger();
    return *kLogger;
  }

  bool Enabled(LogLevel level) const { return level >= level_.load(std::memory_order_relaxed); }
  LogFormat format() const { return format_.load(std::memory_order_relaxed); }
  bool color() const { return color_.load(std::memory_order_relaxed); }

  void Configure(const LogOptions& options) {
    std::lock_guard lock(mu_);
    level_ = options.level;
    format_ = options.format;
    color_option_ = options.color;
    ResolveColorLocked();
  }

  LogSink SetSink(LogSink sink) {
    if (!sink) sink = &WriteToStderr;
    std::lock_guard lock(mu_);
    std::swap(sink, sink_);
    ResolveColorLocked();
    return sink;
  }

  void Write(std::string_view line) {
    std::lock_guard lock(mu_);
    sink_(line);
  }

 private:
  Logger() { ResolveColorLocked(); }  // no other thread can see the object yet

  void ResolveColorLocked() {
    color_ = color_option_.value_or(IsDefaultSink(sink_) && ::isatty(STDERR_FILENO) == 1);
  }

  std::atomic<LogLevel> level_{LogLevel::kInfo};
  std::atomic<LogFormat> format_{LogFormat::kHuman};
  std::atomic<bool> color_{false};

  std::mutex mu_;
  std::optional<bool> color_option_;  // GUARDED_BY(mu_)
  LogSink sink_ = &WriteToStderr;     // GUARDED_BY(mu_)
};

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

// The human format: upper case, padded so that messages line up.
std::string_view HumanLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO ";
    case LogLevel::kWarn: return "WARN ";
    case LogLevel::kError: return "ERROR";
  }
  return "INFO ";
}

std::string_view LevelColor(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "\x1b[90m";  // grey
    case LogLevel::kInfo: return "\x1b[32m";   // green
    case LogLevel::kWarn: return "\x1b[33m";   // yellow
    case LogLevel::kError: return "\x1b[31m";  // red
  }
  return "";
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsSecretKey(std::string_view key) {
  std::string lower = Lower(key);
  for (std::string_view word : {"password", "passwd", "secret", "token"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return lower.ends_with("_key");
}

std::string Timestamp() {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto seconds = static_cast<time_t>(micros / 1'000'000);
  tm utc{};
  ::gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     micros / 1000 % 1000);
}

// Appends `text` with control characters escaped (\n, \t, \r, \xNN) so a record stays on one
// line; in `quoted` mode also escapes `"` and `\` for use inside double quotes.
void AppendEscaped(std::string* out, std::string_view text, bool quoted) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out->append("\\n");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (byte < 0x20 || byte == 0x7f) {
      out->append(fmt::format("\\x{:02x}", byte));
    } else if (quoted && (c == '"' || c == '\\')) {
      out->push_back('\\');
      out->push_back(c);
    } else {
      out->push_back(c);
    }
  }
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

void AppendJsonString(std::string* out, std::string_view text) {
  // Invalid UTF-8 (a byte string from a database, say) becomes U+FFFD rather than a broken line.
  out->append(nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string FormatHuman(LogLevel level, std::string_view message,
                        std::initializer_list<LogField> fields, bool color) {
  std::string line = Timestamp();
  line.push_back(' ');
  std::string_view name = HumanLevelName(level);
  if (color) {
    // Colour the word, not its padding.
    size_t width = name.find(' ');
    line.append(LevelColor(level));
    line.append(name.substr(0, width));
    line.append("\x1b[0m");
    if (width != std::string_view::npos) line.append(name.substr(width));
  } else {
    line.append(name);
  }
  line.push_back(' ');
  AppendEscaped(&line, message, /*quoted=*/false);
  for (const LogField& field : fields) {
    bool secret = IsSecretKey(field.key);
    std::string_view value = secret ? "***" : std::string_view(field.value);
    line.push_back(' ');
    AppendEscaped(&line, field.key, /*quoted=*/false);
    line.push_back('=');
    if (!secret && field.quoted && NeedsQuotes(value)) {
      line.push_back('"');
      AppendEscaped(&line, value, /*quoted=*/true);
      line.push_back('"');
    } else {
      line.append(value);
    }
  }
  return line;
}

std::string FormatJson(LogLevel level, std::string_view message,
                       std::initializer_list<LogField> fields) {
  std::string line = R"({"ts":")" + Timestamp() + R"(","level":")";
  line.append(LevelName(level));
  line.append(R"(","msg":)");
  AppendJsonString(&line, message);
  for (const LogField& field : fields) {
    line.push_back(',');
    AppendJsonString(&line, field.key);
    line.push_back(':');
    if (IsSecretKey(field.key)) {
      line.append("\"***\"");
    } else if (field.quoted) {
      AppendJsonString(&line, field.value);
    } else {
      line.append(field.value);
    }
  }
  line.push_back('}');
  return line;
}

}  // namespace

LogField::LogField(std::string_view k, double v) : key(k), quoted(!std::isfinite(v)) {
  if (std::isnan(v)) {
    value = "NaN";
  } else if (std::isinf(v)) {
    value = v > 0 ? "Infinity" : "-Infinity";
  } else {
    value = fmt::format("{}", v);
  }
}

void ConfigureLogging(const LogOptions& options) { Logger::Get().Configure(options); }

Result<LogLevel> ParseLogLevel(std::string_view text) {
  std::string lower = Lower(text);
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (lower == LevelName(level)) return level;
  }
  return Err(
      InvalidArgument("unknown log level \"{}\"; expected one of debug, info, warn, error", text));
}

Result<LogFormat> ParseLogFormat(std::string_view text) {
  std::string lower = Lower(text);
  if (lower == "human") return LogFormat::kHuman;
  if (lower == "json") return LogFormat::kJson;
  return Err(InvalidArgument("unknown log format \"{}\"; expected one of human, json", text));
}

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  Logger& logger = Logger::Get();
  if (!logger.Enabled(level)) return;
  std::string line = logger.format() == LogFormat::kJson
                         ? FormatJson(level, message, fields)
                         : FormatHuman(level, message, fields, logger.color());
  logger.Write(line);
}

LogSink SetLogSink(LogSink sink) { return Logger::Get().SetSink(std::move(sink)); }

std::string FormatLogRecord(LogFormat format, LogLevel level, std::string_view message,
                            std::initializer_list<LogField> fields) {
  return format == LogFormat::kJson ? FormatJson(level, message, fields)
                                    : FormatHuman(level, message, fields, /*color=*/false);
}

}  // namespace ferry
