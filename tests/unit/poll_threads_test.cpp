// The default number of poll threads: the CPUs a child may use, capped by a cgroup v2 quota.
#include <gtest/gtest.h>

#include "workers/process/child.hpp"

namespace ticketing {
namespace {

TEST(CapByCpuMaxTest, NoQuotaKeepsTheCpus) {
  EXPECT_EQ(CapByCpuMax(8, "max 100000"), 8);
  EXPECT_EQ(CapByCpuMax(2, ""), 2);
}

TEST(CapByCpuMaxTest, QuotaRoundsUpToWholeCpus) {
  EXPECT_EQ(CapByCpuMax(8, "200000 100000"), 2);
  EXPECT_EQ(CapByCpuMax(8, "150000 100000"), 2);
  EXPECT_EQ(CapByCpuMax(8, "50000 100000"), 1);
  EXPECT_EQ(CapByCpuMax(8, "100000 100000\n"), 1);
}

TEST(CapByCpuMaxTest, QuotaAboveTheCpusChangesNothing) {
  EXPECT_EQ(CapByCpuMax(2, "800000 100000"), 2);
}

TEST(CapByCpuMaxTest, MalformedTextIsIgnored) {
  EXPECT_EQ(CapByCpuMax(4, "abc 100000"), 4);
  EXPECT_EQ(CapByCpuMax(4, "200000"), 4);
  EXPECT_EQ(CapByCpuMax(4, "200000 0"), 4);
  EXPECT_EQ(CapByCpuMax(4, "-5 100000"), 4);
  EXPECT_EQ(CapByCpuMax(4, "12x 100000"), 4);
}

}  // namespace
}  // namespace ticketing
