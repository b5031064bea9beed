// MySqlCatalogStore and the services over the real stores: catalog counts and seat states,
// balance reads through the cache, and holds behind the Redis seat gate.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <regex>

#include "tests/integration/integration_env.hpp"
#include "workers/repos/mysql_stores.hpp"
#include "workers/repos/redis_balance_cache.hpp"
#include "workers/services/catalog_service.hpp"
#include "workers/services/reservation_service.hpp"
#include "workers/services/wallet_service.hpp"

namespace ticketing::testing {
namespace {

constexpr int kHourMs = 3600 * 1000;

class CatalogStoreTest : public IntegrationTest {
 protected:
  MySqlCatalogStore catalog_{*db_};
  MySqlPaymentStore payments_{*db_};
};

TEST_F(CatalogStoreTest, ConcertWithScheduleCounts) {
  ASSERT_EQ(payments_.HoldSeat(1, 1, 50, kHourMs).status, 201);
  ASSERT_EQ(payments_.HoldSeat(2, 1, 51, /*ttl_ms=*/1).status, 201);  // expires at once
  ASSERT_EQ(payments_.HoldSeat(3, 2, 1005, kHourMs).status, 201);
  ASSERT_TRUE(WaitUntil([&] {
    return QueryInt(*db_, "SELECT COUNT(*) FROM seats WHERE id = ? AND "
                          "hold_expires_at <= UTC_TIMESTAMP(3)", 51) == 1;
  }));
  const auto concert = catalog_.FindConcert(1);
  ASSERT_TRUE(concert.has_value());
  EXPECT_EQ(concert->id, 1);
  EXPECT_EQ(concert->title, "Integration Concert");
  ASSERT_EQ(concert->schedules.size(), 2u);
  EXPECT_EQ(concert->schedules[0].id, 1);
  EXPECT_EQ(concert->schedules[0].starts_at, "2031-01-02T10:00:00.000Z");
  EXPECT_EQ(concert->schedules[0].seats_total, kSeats);
  EXPECT_EQ(concert->schedules[0].seats_available, kSeats - 1);  // the expired hold counts
  EXPECT_EQ(concert->schedules[1].id, 2);
  EXPECT_EQ(concert->schedules[1].starts_at, "2031-01-03T10:00:00.250Z");
  EXPECT_EQ(concert->schedules[1].seats_total, 20);
  EXPECT_EQ(concert->schedules[1].seats_available, 19);
  EXPECT_FALSE(catalog_.FindConcert(404).has_value());
}

TEST_F(CatalogStoreTest, SeatMapShowsStates) {
  ASSERT_EQ(payments_.HoldSeat(1, 1, 1, kHourMs).status, 201);
  ASSERT_EQ(payments_.HoldSeat(2, 1, 2, /*ttl_ms=*/1).status, 201);
  MySqlPaymentStore store(*db_);
  ASSERT_EQ(store.Charge(3, kVipPrice, "c", RequestHash("charge", 3, kVipPrice), 1000000).status,
            200);
  const HoldOutcome sold = store.HoldSeat(3, 1, 3, kHourMs);
  ASSERT_EQ(store.Confirm(3, sold.reservation_id, "p", RequestHash("confirm", 3,
                                                                   sold.reservation_id))
                .status,
            200);
  ASSERT_TRUE(WaitUntil([&] {
    return QueryInt(*db_, "SELECT COUNT(*) FROM seats WHERE id = ? AND "
                          "hold_expires_at <= UTC_TIMESTAMP(3)", 2) == 1 ||
           QueryString(*db_, "SELECT status FROM seats WHERE id = ?", 2) == "AVAILABLE";
  }));
  const auto map = catalog_.FindSeats(1);
  ASSERT_TRUE(map.has_value());
  EXPECT_EQ(map->concert_id, 1);
  ASSERT_EQ(map->seats.size(), static_cast<size_t>(kSeats));
  EXPECT_EQ(map->seats[0].id, 1);
  EXPECT_STREQ(map->seats[0].status, "HELD");
  EXPECT_EQ(map->seats[0].price, kVipPrice);
  EXPECT_STREQ(map->seats[1].status, "AVAILABLE");  // expired hold
  EXPECT_STREQ(map->seats[2].status, "SOLD");
  EXPECT_STREQ(map->seats[10].status, "AVAILABLE");
  EXPECT_EQ(map->seats[10].price, kPrice);
  EXPECT_EQ(map->seats.back().id, kSeats);
  EXPECT_EQ(catalog_.FindSeats(3)->concert_id, 2);
  EXPECT_FALSE(catalog_.FindSeats(404).has_value());

  rapidjson::Document doc;
  const std::string json = RenderSeats(1, *map);
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_EQ(doc["seats"].Size(), static_cast<rapidjson::SizeType>(kSeats));
}

// Lets everyone through: the waiting room is tested on its own.
class AllowAll final : public AdmissionGate {
 public:
  void RequireActive(const HttpRequest&, int64_t, int64_t) override {}
};

class ServicesTest : public IntegrationTest {
 protected:
  RedisClient redis_{config_.redis_host, config_.redis_port, config_.redis_socket,
                     config_.redis_timeout_ms,
                     config_.redis_retry_after_ms, &metrics_};
  MySqlPaymentStore payments_{*db_};
  MySqlCatalogStore catalog_store_{*db_};
  RedisBalanceCache cache_{redis_, 60};
  CatalogService catalog_{catalog_store_, std::chrono::milliseconds(0)};
  AllowAll gate_;
  WalletService wallet_{config_, payments_, cache_, metrics_};
  ReservationService reservations_{config_, payments_, cache_, redis_, catalog_, gate_, metrics_};

  static int64_t Field(const HttpResponse& r, const char* name) {
    rapidjson::Document doc;
    doc.Parse(r.body.c_str());
    EXPECT_FALSE(doc.HasParseError()) << r.body;
    EXPECT_TRUE(doc.HasMember(name)) << r.body;
    return doc[name].GetInt64();
  }
  static int Status(const std::function<HttpResponse()>& call) {
    try {
      return call().status;
    } catch (const ApiError& e) {
      return HttpStatus(e.code());
    }
  }
};

TEST_F(ServicesTest, BalanceIsCachedAndChargesKeepTheCacheCurrent) {
  EXPECT_EQ(Field(wallet_.Balance(40), "balance"), 0);
  EXPECT_EQ(metrics_.Get(Counter::kBalanceCacheMisses), 1u);
  EXPECT_EQ(Field(wallet_.Balance(40), "balance"), 0);
  EXPECT_EQ(metrics_.Get(Counter::kBalanceCacheHits), 1u);

  const HttpResponse charged = wallet_.Charge(40, 25000, "c1");
  EXPECT_EQ(charged.status, 200);
  EXPECT_EQ(cache_.Get(40)->balance, 25000);
  EXPECT_EQ(Field(wallet_.Balance(40), "balance"), 25000);
  EXPECT_EQ(metrics_.Get(Counter::kBalanceCacheHits), 2u);

  const HttpResponse replay = wallet_.Charge(40, 25000, "c1");
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body, charged.body);
  ASSERT_EQ(replay.headers.size(), 1u);
  EXPECT_EQ(replay.headers[0].first, "Idempotent-Replayed");
  EXPECT_EQ(Field(wallet_.Balance(40), "balance"), 25000);
  EXPECT_EQ(Status([&] { return wallet_.Balance(999999); }), 404);
}

TEST_F(ServicesTest, HoldBehindTheSeatGateThenConfirm) {
  ASSERT_EQ(wallet_.Charge(41, 30000, "c").status, 200);
  const HttpRequest request;
  const HttpResponse held = reservations_.Hold(request, 41, 1, 60);
  ASSERT_EQ(held.status, 201) << held.body;
  const int64_t reservation = Field(held, "reservationId");
  EXPECT_EQ(Field(held, "price"), kPrice);
  // Another user is turned away (by the gate or the database); the holder gets the same hold.
  EXPECT_EQ(Status([&] { return reservations_.Hold(request, 42, 1, 60); }), 409);
  const HttpResponse again = reservations_.Hold(request, 41, 1, 60);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(Field(again, "reservationId"), reservation);
  EXPECT_EQ(Status([&] { return reservations_.Hold(request, 41, 404, 1); }), 404);

  const HttpResponse paid = reservations_.Confirm(41, reservation, "p");
  ASSERT_EQ(paid.status, 200) << paid.body;
  EXPECT_EQ(Field(paid, "balance"), 30000 - kPrice);
  EXPECT_EQ(cache_.Get(41)->balance, 30000 - kPrice);
  EXPECT_EQ(Field(wallet_.Balance(41), "balance"), 30000 - kPrice);
  EXPECT_EQ(Status([&] { return reservations_.Hold(request, 42, 1, 60); }), 409);

  const HttpResponse view = reservations_.Get(41, reservation);
  EXPECT_EQ(view.status, 200);
  EXPECT_NE(view.body.find("\"status\":\"CONFIRMED\""), std::string::npos) << view.body;
  EXPECT_EQ(Status([&] { return reservations_.Get(42, reservation); }), 403);
  EXPECT_EQ(Status([&] { return reservations_.Get(41, 987654321); }), 404);
}

TEST_F(ServicesTest, FailedHoldReleasesTheGate) {
  // A hold refused by the database (unknown seat) must not leave a gate that blocks others.
  EXPECT_EQ(Status([&] { return reservations_.Hold(HttpRequest{}, 43, 1, 9999); }), 404);
  const RedisReply gate = redis_.Command({"EXISTS", SeatGateKey(1, 9999)});
  ASSERT_TRUE(gate && gate->type == REDIS_REPLY_INTEGER);
  EXPECT_EQ(gate->integer, 0);
}

}  // namespace
}  // namespace ticketing::testing
