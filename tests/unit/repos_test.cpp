// Pure helpers of the repositories: the cached balance format, the seat gate key and
// MySQL DATETIME(3) -> RFC 3339.
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "workers/repos/mysql_stores.hpp"
#include "workers/repos/redis_balance_cache.hpp"
#include "workers/services/reservation_service.hpp"

namespace ticketing {
namespace {

TEST(ParseCachedBalanceTest, ParsesVersionAndBalance) {
  const auto parsed = ParseCachedBalance("12:50000");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->version, 12);
  EXPECT_EQ(parsed->balance, 50000);
  const auto zero = ParseCachedBalance("0:0");
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(zero->version, 0);
  EXPECT_EQ(zero->balance, 0);
  const auto big = ParseCachedBalance("9223372036854775807:9223372036854775807");
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->version, INT64_MAX);
  EXPECT_EQ(big->balance, INT64_MAX);
}

TEST(ParseCachedBalanceTest, RejectsAnythingElse) {
  for (const char* bad : {"", ":", "12", "12:", ":500", "a:5", "5:a", "5:5:5", " 5:5", "5:5 ",
                          "5 :5", "5: 5", "+5:5", "5:+5", "5.0:5", "5:5.0", "0x5:5",
                          "9223372036854775808:1", "1:9223372036854775808", "5:5\n",
                          "12-50000"}) {
    EXPECT_FALSE(ParseCachedBalance(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(ParseCachedBalanceTest, KeysAreStable) {
  EXPECT_EQ(BalanceKey(7), "bal:7");
  EXPECT_EQ(BalanceKey(INT64_MAX), "bal:9223372036854775807");
  EXPECT_EQ(SeatGateKey(1, 17), "seat:1:17");
}

TEST(ToRfc3339Test, ConvertsMySqlDatetimes) {
  EXPECT_EQ(ToRfc3339("2026-11-24 03:01:54.626"), "2026-11-24T03:01:54.626Z");
  EXPECT_EQ(ToRfc3339("2026-11-24 03:01:54"), "2026-11-24T03:01:54.000Z");
  // Connector/C++ renders a fractional DATETIME with six digits: cut to milliseconds.
  EXPECT_EQ(ToRfc3339("2026-11-24 03:01:54.626000"), "2026-11-24T03:01:54.626Z");
  EXPECT_EQ(ToRfc3339("2026-01-01 00:00:00.001000"), "2026-01-01T00:00:00.001Z");
  EXPECT_EQ(ToRfc3339("2026-12-31 23:59:59.999999"), "2026-12-31T23:59:59.999Z");
}

TEST(ToRfc3339Test, LeavesShortValuesAlone) {
  EXPECT_EQ(ToRfc3339(""), "");
  EXPECT_EQ(ToRfc3339("2026-11-24"), "2026-11-24");
}

// Log and API timestamps: the date part is cached per second, the milliseconds never are.
TEST(FormatRfc3339Test, FormatsMillisecondsAcrossSecondBoundaries) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1795999999007), "2026-11-30T00:53:19.007Z");
  EXPECT_EQ(FormatRfc3339(1795999999999), "2026-11-30T00:53:19.999Z");
  EXPECT_EQ(FormatRfc3339(1796000000000), "2026-11-30T00:53:20.000Z");
  EXPECT_EQ(FormatRfc3339(1795999999450), "2026-11-30T00:53:19.450Z");
}

}  // namespace
}  // namespace ticketing
