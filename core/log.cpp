// JSON-lines logger shared by the worker, relay, consumer and tools.
#include "core/log.hpp"

#include "core/clock.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ticketing {
namespace {

LogLevel g_min_level = LogLevel::kInfo;
std::string g_role = "main";

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

}  // namespace

LogLevel ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

void InitLog(LogLevel min_level, std::string_view role) {
  g_min_level = min_level;
  g_role = role;
}

bool LogEnabled(LogLevel level) { return level >= g_min_level; }

void AppendJsonEscaped(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

Log::Log(LogLevel level, std::string_view message) : enabled_(LogEnabled(level)) {
  if (!enabled_) return;
  line_.reserve(256);
  line_ += "{\"ts\":\"";
  line_ += FormatRfc3339(UnixMillis());
  line_ += "\",\"level\":\"";
  line_ += LevelName(level);
  line_ += "\",\"pid\":";
  line_ += std::to_string(getpid());
  line_ += ",\"role\":\"";
  AppendJsonEscaped(line_, g_role);
  line_ += "\",\"msg\":\"";
  AppendJsonEscaped(line_, message);
  line_ += '"';
}

Log::~Log() {
  if (!enabled_) return;
  line_ += "}\n";
  // One write keeps lines from different processes whole in the shared log file.
  const ssize_t n = write(STDERR_FILENO, line_.data(), line_.size());
  (void)n;
}

Log& Log::Str(std::string_view key, std::string_view value) {
  if (!enabled_) return *this;
  line_ += ",\"";
  AppendJsonEscaped(line_, key);
  line_ += "\":\"";
  AppendJsonEscaped(line_, value);
  line_ += '"';
  return *this;
}

Log& Log::Int(std::string_view key, int64_t value) {
  if (!enabled_) return *this;
  line_ += ",\"";
  AppendJsonEscaped(line_, key);
  line_ += "\":";
  line_ += std::to_string(value);
  return *this;
}

Log& Log::Num(std::string_view key, double value) {
  if (!enabled_) return *this;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  line_ += ",\"";
  AppendJsonEscaped(line_, key);
  line_ += "\":";
  line_ += buf;
  return *this;
}

Log& Log::Errno(int err) {
  if (!enabled_) return *this;
  char buf[128];
  const char* text = strerror_r(err, buf, sizeof buf);
  Str("error", text);
  return Int("errno", err);
}

}  // namespace ticketing
