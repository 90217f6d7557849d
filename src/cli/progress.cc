#include "cli/progress.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include <fmt/format.h>

#include "base/json.h"
#include "base/log.h"

namespace ferry {
namespace {

// The descriptor FERRY_PROGRESS_FD names, or -1 when it is unset, not a number, or not open.
int ProgressFdFromEnvironment() {
  const char* value = std::getenv("FERRY_PROGRESS_FD");
  if (value == nullptr) return -1;
  const std::string_view text(value);
  int fd = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
  if (ec != std::errc() || end != text.data() + text.size() || fd < 0) return -1;
  return ::fcntl(fd, F_GETFD) == -1 ? -1 : fd;
}

}  // namespace

ProgressReporter::ProgressReporter(std::ostream& out, bool terminal)
    : out_(out), terminal_(terminal), progress_fd_(ProgressFdFromEnvironment()) {
  if (!terminal_) return;
  previous_sink_ = SetLogSink([this](std::string_view line) {
    if (drawn_) {
      out_ << "\r\033[K";
      drawn_ = false;
    }
    out_ << line << "\n" << std::flush;
  });
}

ProgressReporter::~ProgressReporter() {
  Finish();
  if (terminal_) SetLogSink(std::move(previous_sink_));
}

std::string FormatDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
}

std::string FormatBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

void ProgressReporter::Update(const std::string& table, int64_t done, int64_t total,
                              int64_t bytes) {
  const auto now = std::chrono::steady_clock::now();
  // Workers on several tables take turns here: each table keeps its own start, and its rate
  // counts the rows since this process first saw it (a resumed run starts part done).
  auto [it, first] = tables_.try_emplace(
      table, TableProgress{.start = now, .first_done = done, .first_bytes = bytes});
  if (progress_fd_ >= 0) {
    it->second.done = done;
    it->second.total = total;
    it->second.bytes = bytes;
    it->second.unsent = true;
    if (first || now - it->second.last_sent >= std::chrono::milliseconds(250)) {
      it->second.last_sent = now;
      Send(table, it->second);
    }
  }
  const auto interval = terminal_ ? std::chrono::milliseconds(100) : std::chrono::seconds(5);
  if (!first && now - last_draw_ < interval) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - it->second.start).count();
  const double rate = elapsed > 0 ? static_cast<double>(done - it->second.first_done) / elapsed : 0;
  const double byte_rate =
      elapsed > 0 ? static_cast<double>(bytes - it->second.first_bytes) / elapsed : 0;
  // An estimate can be low (rows inserted since it was taken): never show more than 99%.
  const bool known = total > 0;
  const double fraction = known ? std::min(0.99, static_cast<double>(done) / total) : 0;
  const std::string eta =
      known && rate > 0
          ? FormatDuration(static_cast<double>(std::max<int64_t>(0, total - done)) / rate)
          : "?";
  if (!terminal_) {
    LogInfo("copying", {{"table", table},
                        {"rows", done},
                        {"estimated_rows", total},
                        {"bytes", bytes},
                        {"rows_per_second", rate},
                        {"bytes_per_second", byte_rate},
                        {"eta", eta}});
    return;
  }
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(fraction * kWidth);
  out_ << fmt::format("\r  {:<16} [{}{}] {:>11} rows{}  {:>9.0f} rows/s  {:>10}/s  ETA {:<10}",
                      table, std::string(static_cast<size_t>(filled), '#'),
                      std::string(static_cast<size_t>(kWidth - filled), '.'), done,
                      known ? fmt::format(" of ~{}", total) : "", rate, FormatBytes(byte_rate), eta)
       << std::flush;
  drawn_ = true;
}

void ProgressReporter::Send(const std::string& table, TableProgress& progress) {
  progress.unsent = false;
  const std::string line = Json{{"table", table},
                                {"done", progress.done},
                                {"total", progress.total},
                                {"bytes", progress.bytes}}
                               .dump() +
                           "\n";
  // One write of a line under PIPE_BUF bytes is atomic on a pipe. The reader gone (its process
  // died, and this one is about to be killed by its parent-death signal) is not an error here.
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(progress_fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      progress_fd_ = -1;
      return;
    }
    written += static_cast<size_t>(n);
  }
}

void ProgressReporter::Finish() {
  if (terminal_ && drawn_) out_ << "\r\033[K" << std::flush;
  drawn_ = false;
  for (auto& [table, progress] : tables_) {
    if (progress_fd_ >= 0 && progress.unsent) Send(table, progress);
  }
}

}  // namespace ferry
