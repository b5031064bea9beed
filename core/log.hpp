// Structured logging: one JSON object per line on stderr, written with a single write(2).
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
  std::string line_;
};

// Appends `value` to `out` escaped for a JSON string (without quotes).
void AppendJsonEscaped(std::string& out, std::string_view value);

}  // namespace ticketing
