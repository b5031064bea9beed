// Pure parts of the services: catalog JSON rendering, request hashes, Idempotency-Key checks,
// money outcomes -> responses, and the catalog cache window (over an in-memory store).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>
#include <map>
#include <set>
#include <rapidjson/document.h>

#include <optional>

#include "workers/app.hpp"
#include "workers/services/catalog_service.hpp"
#include "workers/services/tx_retry.hpp"
#include "workers/services/wallet_service.hpp"

namespace ticketing {
namespace {

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.c_str(), body.size());
  EXPECT_FALSE(doc.HasParseError()) << body;
  return doc;
}

TEST(RenderConcertTest, MatchesTheContract) {
  Concert concert{1, "IU \"Golden Hour\" \\ 서울", {}};
  concert.schedules.push_back({10, "2026-12-01T10:00:00.000Z", 1000, 998});
  concert.schedules.push_back({11, "2026-12-02T10:00:00.000Z", 100, 0});
  const auto doc = Parse(RenderConcert(concert));
  EXPECT_EQ(doc["id"].GetInt64(), 1);
  EXPECT_STREQ(doc["title"].GetString(), "IU \"Golden Hour\" \\ 서울");
  const auto& schedules = doc["schedules"];
  ASSERT_TRUE(schedules.IsArray());
  ASSERT_EQ(schedules.Size(), 2u);
  EXPECT_EQ(schedules[0]["id"].GetInt64(), 10);
  EXPECT_STREQ(schedules[0]["startsAt"].GetString(), "2026-12-01T10:00:00.000Z");
  EXPECT_EQ(schedules[0]["seatsTotal"].GetInt64(), 1000);
  EXPECT_EQ(schedules[0]["seatsAvailable"].GetInt64(), 998);
  EXPECT_EQ(schedules[1]["id"].GetInt64(), 11);
  EXPECT_EQ(schedules[1]["seatsAvailable"].GetInt64(), 0);
}

TEST(RenderConcertTest, NoSchedulesIsAnEmptyArray) {
  const auto doc = Parse(RenderConcert(Concert{2, "", {}}));
  ASSERT_TRUE(doc["schedules"].IsArray());
  EXPECT_EQ(doc["schedules"].Size(), 0u);
  EXPECT_STREQ(doc["title"].GetString(), "");
}

TEST(RenderSeatsTest, MatchesTheContract) {
  SeatMap map;
  map.concert_id = 1;
  map.seats = {{1, 150000, "AVAILABLE"}, {2, 120000, "HELD"}, {3, 90000, "SOLD"}};
  const auto doc = Parse(RenderSeats(7, map));
  EXPECT_EQ(doc["scheduleId"].GetInt64(), 7);
  const auto& seats = doc["seats"];
  ASSERT_TRUE(seats.IsArray());
  ASSERT_EQ(seats.Size(), 3u);
  const char* statuses[] = {"AVAILABLE", "HELD", "SOLD"};
  const int64_t prices[] = {150000, 120000, 90000};
  for (rapidjson::SizeType i = 0; i < 3; ++i) {
    EXPECT_EQ(seats[i]["id"].GetInt64(), i + 1);
    EXPECT_EQ(seats[i]["price"].GetInt64(), prices[i]);
    EXPECT_STREQ(seats[i]["status"].GetString(), statuses[i]);
    EXPECT_EQ(seats[i].MemberCount(), 3u);
  }
  EXPECT_EQ(Parse(RenderSeats(8, SeatMap{}))["seats"].Size(), 0u);
}

TEST(RenderSeatsTest, LargeMapsStayValid) {
  SeatMap map;
  for (int64_t i = 1; i <= 5000; ++i) map.seats.push_back({i, 90000, "AVAILABLE"});
  EXPECT_EQ(Parse(RenderSeats(1, map))["seats"].Size(), 5000u);
}

TEST(RequestHashTest, IsStableAcrossReleases) {
  // Stored with every Idempotency-Key for 24 h: a changed hash turns retries into 422s.
  EXPECT_EQ(RequestHash("charge", 7, 10000),
            "e674d039491516079468005bdeca44b7484c098001a589f3e2920105d69fd45c");
  EXPECT_EQ(RequestHash("confirm", 7, 123),
            "c5e4c1adb23c9da5ce5c8b59e8509d4fccd245555ad509408bd21f6f5452e66c");
}

TEST(RequestHashTest, DistinguishesEndpointUserAndValue) {
  const std::string base = RequestHash("charge", 7, 10000);
  EXPECT_EQ(base, RequestHash("charge", 7, 10000));
  EXPECT_NE(base, RequestHash("confirm", 7, 10000));
  EXPECT_NE(base, RequestHash("charge", 8, 10000));
  EXPECT_NE(base, RequestHash("charge", 7, 10001));
  // The separator keeps (71, 0) and (7, 10) apart.
  EXPECT_NE(RequestHash("charge", 71, 0), RequestHash("charge", 7, 10));
  EXPECT_EQ(base.size(), 64u);
}

TEST(RequireIdempotencyKeyTest, AcceptsTheAllowedAlphabet) {
  HttpRequest request;
  for (const std::string& key :
       {std::string("a"), std::string("550e8400-e29b-41d4-a716-446655440000"),
        std::string("order:7_retry.2"), std::string(128, 'k')}) {
    request.idempotency_key = key;
    EXPECT_EQ(RequireIdempotencyKey(request), key);
  }
}

TEST(RequireIdempotencyKeyTest, RejectsMissingLongAndOddKeys) {
  HttpRequest request;
  for (const std::string& key : {std::string(""), std::string(129, 'k'), std::string("a b"),
                                std::string("a/b"), std::string("키"), std::string("a\nb"),
                                std::string("a\"b"), std::string("a\0b", 3)}) {
    request.idempotency_key = key;
    try {
      RequireIdempotencyKey(request);
      ADD_FAILURE() << "accepted '" << key << "'";
    } catch (const ApiError& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadRequest);
    }
  }
}

// An in-memory BalanceCache that records what it was given.
class RecordingCache final : public BalanceCache {
 public:
  std::optional<WalletBalance> Get(int64_t) override { return std::nullopt; }
  void Put(int64_t user_id, const WalletBalance& balance) override {
    puts.emplace_back(user_id, balance);
  }
  bool Ping() override { return true; }
  std::vector<std::pair<int64_t, WalletBalance>> puts;
};

TEST(MoneyResponseTest, NewCommitUpdatesTheCache) {
  RecordingCache cache;
  MoneyOutcome outcome{200, R"({"userId":7,"balance":500})", false, 500, 3, std::nullopt};
  const HttpResponse response = MoneyResponse(outcome, 7, cache);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, outcome.body);
  EXPECT_TRUE(response.headers.empty());
  ASSERT_EQ(cache.puts.size(), 1u);
  EXPECT_EQ(cache.puts[0].first, 7);
  EXPECT_EQ(cache.puts[0].second.balance, 500);
  EXPECT_EQ(cache.puts[0].second.version, 3);
}

TEST(MoneyResponseTest, ReplayIsMarkedAndDoesNotTouchTheCache) {
  RecordingCache cache;
  MoneyOutcome outcome{200, R"({"userId":7,"balance":500})", true, std::nullopt, std::nullopt, std::nullopt};
  const HttpResponse response = MoneyResponse(outcome, 7, cache);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, outcome.body);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "Idempotent-Replayed");
  EXPECT_TRUE(cache.puts.empty());
}

TEST(MoneyResponseTest, FailuresBecomeProblems) {
  RecordingCache cache;
  for (const int status : {402, 403, 404, 409, 422}) {
    MoneyOutcome outcome{status, "some reason", false, std::nullopt, std::nullopt, std::nullopt};
    const HttpResponse response = MoneyResponse(outcome, 7, cache);
    EXPECT_EQ(response.status, status);
    EXPECT_EQ(response.content_type, "application/problem+json");
    const auto doc = Parse(response.body);
    EXPECT_EQ(doc["status"].GetInt(), status);
    EXPECT_STREQ(doc["detail"].GetString(), "some reason");
  }
  EXPECT_TRUE(cache.puts.empty());
}

// A CatalogStore that counts reads and can be changed between them.
class FakeCatalogStore final : public CatalogStore {
 public:
  std::optional<Concert> FindConcert(int64_t concert_id) override {
    ++concert_reads;
    if (concert_id != 1) return std::nullopt;
    return Concert{1, title, {}};
  }
  std::optional<SeatMap> FindSeats(int64_t schedule_id) override {
    ++seat_reads;
    if (schedule_id != 5) return std::nullopt;
    SeatMap map;
    map.concert_id = 1;
    map.seats = {{1, 100, "AVAILABLE"}};
    return map;
  }
  std::optional<int64_t> FindScheduleConcert(int64_t schedule_id) override {
    ++owner_reads;
    if (schedule_id != 5) return std::nullopt;
    return 1;
  }
  std::string title = "first";
  int owner_reads = 0;
  int concert_reads = 0;
  int seat_reads = 0;
};

TEST(CatalogServiceTest, CachesWithinTheWindow) {
  FakeCatalogStore store;
  CatalogService catalog(store, std::chrono::hours(1));
  EXPECT_NE(catalog.ConcertJson(1)->find("first"), std::string::npos);
  store.title = "second";
  EXPECT_NE(catalog.ConcertJson(1)->find("first"), std::string::npos);
  EXPECT_EQ(store.concert_reads, 1);
  EXPECT_FALSE(catalog.ConcertJson(2).has_value());
  EXPECT_FALSE(catalog.ConcertJson(2).has_value());
  EXPECT_EQ(store.concert_reads, 2);  // misses are cached too
}

TEST(CatalogServiceTest, ZeroWindowAlwaysReads) {
  FakeCatalogStore store;
  CatalogService catalog(store, std::chrono::milliseconds(0));
  catalog.ConcertJson(1);
  store.title = "second";
  EXPECT_NE(catalog.ConcertJson(1)->find("second"), std::string::npos);
  EXPECT_EQ(store.concert_reads, 2);
}

TEST(CatalogServiceTest, SeatsMustBelongToTheConcert) {
  FakeCatalogStore store;
  CatalogService catalog(store, std::chrono::hours(1));
  ASSERT_NE(catalog.SeatsJson(1, 5), nullptr);
  EXPECT_EQ(catalog.SeatsJson(2, 5), nullptr);
  EXPECT_EQ(catalog.SeatsJson(1, 6), nullptr);
  EXPECT_EQ(store.seat_reads, 2);
}

// The request threads of a child share one seat-map cache: what one thread loaded, the others
// serve, and many threads reading and refreshing it at once see whole maps only.
TEST(CatalogServiceTest, ThreadsShareOneSeatMapCache) {
  FakeCatalogStore store_a, store_b;
  SeatMapCache shared;
  CatalogService a(store_a, std::chrono::hours(1), nullptr, &shared);
  CatalogService b(store_b, std::chrono::hours(1), nullptr, &shared);
  const auto from_a = a.SeatsJson(1, 5);
  ASSERT_NE(from_a, nullptr);
  EXPECT_EQ(b.SeatsJson(1, 5), from_a);  // the same bytes, not a copy
  EXPECT_EQ(b.SeatsJson(2, 5), nullptr);
  EXPECT_EQ(store_a.seat_reads, 1);
  EXPECT_EQ(store_b.seat_reads, 0);

  SeatMapCache racing;
  std::vector<std::thread> threads;
  std::atomic<int> whole{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      FakeCatalogStore store;
      CatalogService catalog(store, std::chrono::milliseconds(0), nullptr, &racing);
      for (int i = 0; i < 200; ++i) {
        const auto json = catalog.SeatsJson(1, 5);
        if (json && *json == *from_a) ++whole;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(whole.load(), 8 * 200);
}

TEST(CatalogServiceTest, ScheduleOwnerIsLookedUpWithoutTheSeatMap) {
  FakeCatalogStore store;
  CatalogService catalog(store, std::chrono::hours(1));
  EXPECT_EQ(catalog.ConcertOfSchedule(5), std::optional<int64_t>(1));
  EXPECT_EQ(catalog.ConcertOfSchedule(5), std::optional<int64_t>(1));
  EXPECT_FALSE(catalog.ConcertOfSchedule(6).has_value());
  EXPECT_FALSE(catalog.ConcertOfSchedule(6).has_value());
  EXPECT_EQ(store.owner_reads, 2);  // one per schedule: known owners and misses are cached
  EXPECT_EQ(store.seat_reads, 0);
}

TEST(CatalogServiceTest, CacheSizeIsBounded) {
  FakeCatalogStore store;
  CatalogService catalog(store, std::chrono::hours(1));
  for (int64_t id = 1; id <= 5000; ++id) catalog.ConcertJson(id);
  EXPECT_EQ(store.concert_reads, 5000);
  // Whatever was evicted, answers stay right.
  store.title = "second";
  const auto json = catalog.ConcertJson(1);
  ASSERT_TRUE(json.has_value());
}

TEST(WithTxRetryTest, RetriesTransientErrorsOnly) {
  Metrics metrics = Metrics::CreateLocal();
  int calls = 0;
  const int result = WithTxRetry(3, metrics, [&] {
    if (++calls < 3) throw DbError(DbErrorKind::kRetryable, 1213, "deadlock");
    return 42;
  });
  EXPECT_EQ(result, 42);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(metrics.Get(Counter::kTxRetries), 2u);

  calls = 0;
  EXPECT_THROW(WithTxRetry(3, metrics,
                           [&]() -> int {
                             ++calls;
                             throw DbError(DbErrorKind::kConnection, 2013, "lost");
                           }),
               DbError);
  EXPECT_EQ(calls, 4);

  calls = 0;
  EXPECT_THROW(WithTxRetry(3, metrics,
                           [&]() -> int {
                             ++calls;
                             throw DbError(DbErrorKind::kOther, 1644, "signal");
                           }),
               DbError);
  EXPECT_EQ(calls, 1);
}

TEST(ClassifyMySqlErrorTest, KnownCodes) {
  EXPECT_EQ(ClassifyMySqlError(1213), DbErrorKind::kRetryable);
  EXPECT_EQ(ClassifyMySqlError(1205), DbErrorKind::kRetryable);
  EXPECT_EQ(ClassifyMySqlError(1062), DbErrorKind::kDuplicate);
  for (const int code : {1040, 1053, 1927, 2002, 2003, 2006, 2013, 2026, 2055}) {
    EXPECT_EQ(ClassifyMySqlError(code), DbErrorKind::kConnection) << code;
  }
  EXPECT_EQ(ClassifyMySqlError(1644), DbErrorKind::kOther);
  EXPECT_EQ(ClassifyMySqlError(0), DbErrorKind::kOther);
}

}  // namespace
}  // namespace ticketing

namespace ticketing {
namespace {

// A SharedCatalogCache in memory, standing in for Redis in these pure-logic tests.
class MemorySharedCatalog final : public SharedCatalogCache {
 public:
  std::optional<std::string> GetConcert(int64_t id) override {
    const auto it = entries.find(id);
    if (it == entries.end()) return std::nullopt;
    return it->second;
  }
  void PutConcert(int64_t id, const std::string& json) override { entries[id] = json; }
  void MarkWanted(int64_t id) override { wanted.insert(id); }
  std::vector<int64_t> Wanted() override { return {wanted.begin(), wanted.end()}; }
  std::map<int64_t, std::string> entries;
  std::set<int64_t> wanted;
};

TEST(SharedCatalogTest, AChildServesWhatAnotherComputedWithoutCounting) {
  FakeCatalogStore store;
  MemorySharedCatalog shared;
  CatalogService first(store, std::chrono::milliseconds(0), &shared);
  CatalogService second(store, std::chrono::milliseconds(0), &shared);
  ASSERT_TRUE(first.ConcertJson(1).has_value());
  EXPECT_EQ(store.concert_reads, 1);
  EXPECT_EQ(shared.wanted, std::set<int64_t>{1});
  EXPECT_EQ(second.ConcertJson(1), first.ConcertJson(1));
  EXPECT_EQ(store.concert_reads, 1);  // both answered from the shared entry
}

TEST(SharedCatalogTest, TheHousekeeperRefreshesWantedConcerts) {
  FakeCatalogStore store;
  MemorySharedCatalog shared;
  CatalogService child(store, std::chrono::milliseconds(0), &shared);
  CatalogService housekeeper(store, std::chrono::milliseconds(0), &shared);
  ASSERT_NE(child.ConcertJson(1)->find("first"), std::string::npos);
  store.title = "second";
  housekeeper.RefreshShared();
  EXPECT_NE(child.ConcertJson(1)->find("second"), std::string::npos);
}

TEST(SharedCatalogTest, UnknownConcertsAreNotShared) {
  FakeCatalogStore store;
  MemorySharedCatalog shared;
  CatalogService child(store, std::chrono::milliseconds(0), &shared);
  EXPECT_FALSE(child.ConcertJson(2).has_value());
  EXPECT_TRUE(shared.entries.empty());
  EXPECT_TRUE(shared.wanted.empty());
}

}  // namespace
}  // namespace ticketing
