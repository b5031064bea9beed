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
std::string g_pid = std::to_string(getpid());

// Buffered mode (worker request threads): debug and info lines collect here and reach stderr in
// one write per kBufferBytes or per FlushLogIfOlderThan call; a warning or an error flushes at
// once.
constexpr size_t kBufferBytes = 16 * 1024;
// Per thread: a worker child's request threads each collect and write their own lines.
thread_local bool g_buffered = false;
thread_local std::string g_buffer;
thread_local int64_t g_buffer_since_ms = 0;

void WriteAll(const std::string& text) {
  // One write keeps lines from different processes whole in the shared log file.
  const ssize_t n = write(STDERR_FILENO, text.data(), text.size());
  (void)n;
}

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
  FlushLog();
  g_min_level = min_level;
  g_role = role;
  g_pid = std::to_string(getpid());
  g_buffered = false;
}

void BufferLog(bool on) {
  if (!on) FlushLog();
  g_buffered = on;
  if (on) g_buffer.reserve(kBufferBytes + 1024);
}

void FlushLog() {
  if (g_buffer.empty()) return;
  WriteAll(g_buffer);
  g_buffer.clear();
}

bool LogPending() { return !g_buffer.empty(); }

void FlushLogIfOlderThan(int64_t max_age_ms) {
  if (!g_buffer.empty() && UnixMillis() - g_buffer_since_ms >= max_age_ms) FlushLog();
}

bool LogEnabled(LogLevel level) { return level >= g_min_level; }

namespace {

// Length of the valid UTF-8 sequence starting at `s[i]`, or 0 when it is not one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned min_code = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, min_code = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, min_code = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, min_code = 0x10000;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  unsigned code = lead & (0xFF >> (length + 1));
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

}  // namespace

// Escapes for a JSON string; bytes that are not valid UTF-8 become U+FFFD, so whatever a
// client sent, the JSON we write is valid UTF-8.
void AppendJsonEscaped(std::string& out, std::string_view value) {
  for (size_t i = 0; i < value.size();) {
    const char c = value[i];
    const auto uc = static_cast<unsigned char>(c);
    if (uc >= 0x80) {
      const size_t length = Utf8SequenceLength(value, i);
      if (length == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(value.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (uc < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", uc);
          out += buf;
        } else {
          out += c;
        }
    }
    ++i;
  }
}

Log::Log(LogLevel level, std::string_view message)
    : enabled_(LogEnabled(level)), urgent_(level >= LogLevel::kWarn) {
  if (!enabled_) return;
  line_.reserve(256);
  line_ += "{\"ts\":\"";
  now_ms_ = UnixMillis();
  line_ += FormatRfc3339(now_ms_);
  line_ += "\",\"level\":\"";
  line_ += LevelName(level);
  line_ += "\",\"pid\":";
  line_ += g_pid;
  line_ += ",\"role\":\"";
  AppendJsonEscaped(line_, g_role);
  line_ += "\",\"msg\":\"";
  AppendJsonEscaped(line_, message);
  line_ += '"';
}

Log::~Log() {
  if (!enabled_) return;
  line_ += "}\n";
  if (!g_buffered) {
    WriteAll(line_);
    return;
  }
  if (g_buffer.empty()) g_buffer_since_ms = now_ms_;
  g_buffer += line_;
  if (urgent_ || g_buffer.size() >= kBufferBytes) FlushLog();
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
