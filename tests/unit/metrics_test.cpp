// Metrics: request counts per route and status, cumulative latency buckets, counters, and the
// Prometheus text they render to.
#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace ticketing {
namespace {

// "name{labels} value" lines of a rendering, keyed by everything before the value.
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = line.substr(space + 1);
  }
  return samples;
}

std::string Bucket(const char* route, const char* le) {
  return std::string("ticketing_http_request_duration_seconds_bucket{route=\"") + route +
         "\",le=\"" + le + "\"}";
}

const std::vector<std::string_view> kRoutes = {"concert", "confirm", "unmatched"};

TEST(MetricsTest, CountsRequestsByRouteAndStatus) {
  Metrics m = Metrics::CreateLocal();
  m.ObserveRequest(0, 200, 0.001);
  m.ObserveRequest(0, 200, 0.002);
  m.ObserveRequest(0, 404, 0.001);
  m.ObserveRequest(1, 402, 0.01);
  m.ObserveRequest(2, 418, 0.0);  // not a tracked status: "other"
  EXPECT_EQ(m.Requests(0, 200), 2u);
  EXPECT_EQ(m.Requests(0, 404), 1u);
  EXPECT_EQ(m.Requests(1, 402), 1u);
  EXPECT_EQ(m.Requests(1, 200), 0u);
  EXPECT_EQ(m.Requests(2, 418), 1u);
  EXPECT_EQ(m.Requests(kMaxRoutes, 200), 0u);

  const auto samples = Samples(m.Render(kRoutes));
  EXPECT_EQ(samples.at("ticketing_http_requests_total{route=\"concert\",status=\"200\"}"), "2");
  EXPECT_EQ(samples.at("ticketing_http_requests_total{route=\"concert\",status=\"404\"}"), "1");
  EXPECT_EQ(samples.at("ticketing_http_requests_total{route=\"confirm\",status=\"402\"}"), "1");
  EXPECT_EQ(samples.at("ticketing_http_requests_total{route=\"unmatched\",status=\"other\"}"),
            "1");
  EXPECT_EQ(samples.count("ticketing_http_requests_total{route=\"confirm\",status=\"200\"}"), 0u);
}

TEST(MetricsTest, OutOfRangeRoutesAreIgnored) {
  Metrics m = Metrics::CreateLocal();
  m.ObserveRequest(kMaxRoutes, 200, 0.1);
  m.ObserveRequest(kMaxRoutes + 100, 200, 0.1);
  EXPECT_EQ(Samples(m.Render(kRoutes)).count(Bucket("concert", "+Inf")), 1u);
  EXPECT_EQ(Samples(m.Render(kRoutes)).at(Bucket("concert", "+Inf")), "0");
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Metrics m = Metrics::CreateLocal();
  m.ObserveRequest(0, 200, 0.0004);  // <= 0.0005
  m.ObserveRequest(0, 200, 0.0005);  // on the bound: le is inclusive
  m.ObserveRequest(0, 200, 0.003);   // <= 0.005
  m.ObserveRequest(0, 200, 0.3);     // <= 0.5
  m.ObserveRequest(0, 200, 7.0);     // only +Inf
  const auto samples = Samples(m.Render(kRoutes));
  EXPECT_EQ(samples.at(Bucket("concert", "0.0005")), "2");
  EXPECT_EQ(samples.at(Bucket("concert", "0.001")), "2");
  EXPECT_EQ(samples.at(Bucket("concert", "0.0025")), "2");
  EXPECT_EQ(samples.at(Bucket("concert", "0.005")), "3");
  EXPECT_EQ(samples.at(Bucket("concert", "0.25")), "3");
  EXPECT_EQ(samples.at(Bucket("concert", "0.5")), "4");
  EXPECT_EQ(samples.at(Bucket("concert", "+Inf")), "5");
  EXPECT_EQ(samples.at("ticketing_http_request_duration_seconds_count{route=\"concert\"}"), "5");
  const double sum = std::strtod(
      samples.at("ticketing_http_request_duration_seconds_sum{route=\"concert\"}").c_str(),
      nullptr);
  EXPECT_NEAR(sum, 0.0004 + 0.0005 + 0.003 + 0.3 + 7.0, 1e-5);
  // Another route's histogram is untouched.
  EXPECT_EQ(samples.at(Bucket("confirm", "+Inf")), "0");
}

TEST(MetricsTest, BucketsAreMonotonicAndLeParsesToTheBounds) {
  Metrics m = Metrics::CreateLocal();
  for (int i = 0; i < 200; ++i) m.ObserveRequest(0, 200, i * 0.03);
  const std::string text = m.Render(kRoutes);
  const std::regex line(
      R"re(ticketing_http_request_duration_seconds_bucket\{route="concert",le="([^"]+)"\} (\d+))re");
  std::vector<double> bounds;
  uint64_t previous = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line);
       it != std::sregex_iterator(); ++it) {
    const std::string le = (*it)[1];
    const uint64_t count = std::stoull((*it)[2]);
    EXPECT_GE(count, previous) << le;
    previous = count;
    if (le == "+Inf") {
      EXPECT_EQ(count, 200u);
      continue;
    }
    char* end = nullptr;
    bounds.push_back(std::strtod(le.c_str(), &end));
    EXPECT_EQ(*end, '\0') << le;
  }
  ASSERT_EQ(bounds.size(), std::size(kLatencyBounds));
  for (size_t i = 0; i < bounds.size(); ++i) EXPECT_DOUBLE_EQ(bounds[i], kLatencyBounds[i]);
}

TEST(MetricsTest, LeLabelsAreCanonicalNumbers) {
  const std::string text = Metrics::CreateLocal().Render(kRoutes);
  EXPECT_EQ(text.find("le=\"1.\""), std::string::npos);
  EXPECT_EQ(text.find("le=\"5.\""), std::string::npos);
  EXPECT_NE(text.find(Bucket("concert", "1.0")), std::string::npos);
}

TEST(MetricsTest, CountersAreRenderedWithHelpAndType) {
  Metrics m = Metrics::CreateLocal();
  m.Increment(Counter::kDbErrors);
  m.Increment(Counter::kDbErrors, 4);
  m.Increment(Counter::kTxRetries, 2);
  EXPECT_EQ(m.Get(Counter::kDbErrors), 5u);
  EXPECT_EQ(m.Get(Counter::kTxRetries), 2u);
  EXPECT_EQ(m.Get(Counter::kRedisErrors), 0u);
  const std::string text = m.Render(kRoutes);
  const auto samples = Samples(text);
  EXPECT_EQ(samples.at("ticketing_db_errors_total"), "5");
  EXPECT_EQ(samples.at("ticketing_tx_retries_total"), "2");
  EXPECT_EQ(samples.at("ticketing_redis_errors_total"), "0");
  for (const char* name :
       {"ticketing_worker_restarts_total", "ticketing_balance_cache_hits_total",
        "ticketing_balance_cache_misses_total", "ticketing_holds_released_total"}) {
    EXPECT_EQ(samples.at(name), "0") << name;
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " counter"), std::string::npos) << name;
    EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
  }
  EXPECT_NE(text.find("# TYPE ticketing_http_request_duration_seconds histogram"),
            std::string::npos);
}

TEST(MetricsTest, ConcurrentObservationsAreAllCounted) {
  Metrics m = Metrics::CreateLocal();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 10000; ++i) {
        m.ObserveRequest(1, 200, 0.001);
        m.Increment(Counter::kRedisErrors);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.Requests(1, 200), 40000u);
  EXPECT_EQ(m.Get(Counter::kRedisErrors), 40000u);
}

TEST(MetricsTest, SharedBlockIsVisibleAcrossFork) {
  Metrics m = Metrics::CreateShared();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    m.Increment(Counter::kWorkerRestarts, 3);
    m.ObserveRequest(0, 201, 0.001);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(m.Get(Counter::kWorkerRestarts), 3u);
  EXPECT_EQ(m.Requests(0, 201), 1u);
}

}  // namespace
}  // namespace ticketing
