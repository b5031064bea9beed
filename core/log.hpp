// Structured logging: one JSON object per line on stderr, whole lines per write(2).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ticketing {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

LogLevel ParseLogLevel(std::string_view name);
// Called once per process (again after fork, with the child's role).
void InitLog(LogLevel min_level, std::string_view role);
bool LogEnabled(LogLevel level);

// Buffered mode, per thread, for request-serving threads: info and debug lines are collected
// and written together (every 16 KB, or when FlushLogIfOlderThan finds the oldest line old
// enough); a warning or an error writes the buffer and itself at once. A process killed hard loses at
// most what is buffered, as nginx's `access_log ... buffer=` does.
void BufferLog(bool on);
void FlushLog();
bool LogPending();
void FlushLogIfOlderThan(int64_t max_age_ms);

// Builds one log line: Log(LogLevel::kInfo, "request").Str("request_id", id).Int("status", 200);
// the line is written when the object goes out of scope.
class Log {
 public:
  Log(LogLevel level, std::string_view message);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  Log& Str(std::string_view key, std::string_view value);
  Log& Int(std::string_view key, int64_t value);
  Log& Num(std::string_view key, double value);
  // errno text as "error": strerror plus the number.
  Log& Errno(int err);

 private:
  bool enabled_;
  bool urgent_ = false;
  int64_t now_ms_ = 0;
  std::string line_;
};

// Appends `value` to `out` escaped for a JSON string (without quotes).
void AppendJsonEscaped(std::string& out, std::string_view value);

}  // namespace ticketing
