// Wall-clock helpers shared by logs and API responses.
#pragma once

#include <cstdint>
#include <string>

namespace ticketing {

int64_t UnixMillis();
// "2026-11-24T03:01:54.626Z"
std::string FormatRfc3339(int64_t unix_ms);

}  // namespace ticketing
