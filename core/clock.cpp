// UTC formatting with millisecond precision.
#include "core/clock.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace ticketing {

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatRfc3339(int64_t unix_ms) {
  // Every log line carries a timestamp: the date and time of day are formatted once per second.
  thread_local time_t cached_secs = -1;
  thread_local char cached[32];
  thread_local size_t cached_len = 0;
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  if (secs != cached_secs) {
    struct tm tm_utc;
    gmtime_r(&secs, &tm_utc);
    cached_len = strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm_utc);
    cached_secs = secs;
  }
  const int ms = static_cast<int>(unix_ms % 1000);
  std::string out(cached, cached_len);
  out += '.';
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
  return out;
}

}  // namespace ticketing
