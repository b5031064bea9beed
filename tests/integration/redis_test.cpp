// RedisClient (fail fast, reconnect) and RedisBalanceCache (versioned, never goes back).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include <unistd.h>

#include "tests/integration/integration_env.hpp"
#include "core/shared_memory.hpp"
#include "workers/repos/redis_balance_cache.hpp"

namespace ticketing::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST(RedisClientDownTest, ClosedPortFailsFastOnEveryCall) {
  Metrics metrics = Metrics::CreateLocal();
  RedisClient redis("127.0.0.1", 1, "", 200, 500, &metrics);
  for (int i = 0; i < 50; ++i) {
    const auto started = steady_clock::now();
    EXPECT_EQ(redis.Command({"GET", "k"}), nullptr);
    EXPECT_LT(steady_clock::now() - started, milliseconds(50)) << "call " << i;
  }
  EXPECT_TRUE(redis.down());
  EXPECT_FALSE(redis.Ping());
  // A refused connection costs microseconds, so it opens no retry window: every call tried.
  EXPECT_EQ(metrics.Get(Counter::kRedisErrors), 51u);
}

TEST(RedisClientDownTest, CacheOverDeadRedisIsAMiss) {
  RedisClient redis("127.0.0.1", 1, "", 200, 500, nullptr);
  RedisBalanceCache cache(redis, 60);
  const auto started = steady_clock::now();
  EXPECT_FALSE(cache.Get(7).has_value());
  cache.Put(7, WalletBalance{100, 1});
  EXPECT_FALSE(cache.Get(7).has_value());
  EXPECT_FALSE(cache.Ping());
  EXPECT_LT(steady_clock::now() - started, milliseconds(100));
}

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TICKETING_SKIP_WITHOUT_SERVICES();
    config_ = IntegrationConfig();
    FlushRedis(config_);
  }
  std::unique_ptr<RedisClient> Client(int retry_after_ms = 100) {
    return std::make_unique<RedisClient>(config_.redis_host, config_.redis_port, config_.redis_socket, 500,
                                         retry_after_ms, &metrics_);
  }
  // Makes Redis hold every write for longer than a client's 500 ms timeout, as a stalled or
  // briefly unreachable Redis would: a Put issued now is lost.
  void StallWrites(int ms) {
    const RedisReply paused = Client()->Command({"CLIENT", "PAUSE", std::to_string(ms), "WRITE"});
    ASSERT_TRUE(paused);
  }
  // Closes `victim`'s connection from another client, as a Redis restart would.
  void Kill(RedisClient& victim) {
    const RedisReply id = victim.Command({"CLIENT", "ID"});
    ASSERT_TRUE(id && id->type == REDIS_REPLY_INTEGER);
    const std::string id_text = std::to_string(id->integer);
    const RedisReply killed = Client()->Command({"CLIENT", "KILL", "ID", id_text});
    ASSERT_TRUE(killed && killed->type == REDIS_REPLY_INTEGER && killed->integer == 1);
  }

  Config config_;
  Metrics metrics_ = Metrics::CreateLocal();
};

TEST_F(RedisTest, CommandsAreBinarySafe) {
  auto redis = Client();
  const std::string value("a\0b\r\nc", 6);
  ASSERT_TRUE(redis->Command({"SET", "bin", value}));
  const RedisReply got = redis->Command({"GET", "bin"});
  ASSERT_TRUE(got && got->type == REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(got->str, got->len), value);
  EXPECT_TRUE(redis->Ping());
}

TEST_F(RedisTest, ErrorReplyIsNullButKeepsTheConnection) {
  auto redis = Client();
  ASSERT_TRUE(redis->Command({"SET", "text", "abc"}));
  EXPECT_EQ(redis->Command({"INCR", "text"}), nullptr);
  EXPECT_FALSE(redis->down());
  EXPECT_TRUE(redis->Ping());
}

// A connection the server closed (Redis restarted, or CLIENT KILL) is replaced at once: the
// command is sent again on a fresh connection instead of failing and backing off.
TEST_F(RedisTest, ConnectionClosedByTheServerIsReplacedAtOnce) {
  auto redis = Client(/*retry_after_ms=*/60000);
  ASSERT_TRUE(redis->Ping());
  Kill(*redis);
  const RedisReply reply = redis->Command({"SET", "k", "v"});
  ASSERT_TRUE(reply);
  EXPECT_FALSE(redis->down());
  EXPECT_TRUE(redis->Ping());
}

TEST_F(RedisTest, TimeoutBacksOffThenRecovers) {
  auto redis = Client(/*retry_after_ms=*/100);
  ASSERT_TRUE(redis->Ping());
  StallWrites(800);
  EXPECT_EQ(redis->Command({"SET", "k", "v"}), nullptr);  // timed out
  EXPECT_TRUE(redis->down());
  const auto started = steady_clock::now();
  EXPECT_EQ(redis->Command({"GET", "k"}), nullptr);  // backing off: no connect attempt
  EXPECT_LT(steady_clock::now() - started, milliseconds(50));
  EXPECT_TRUE(WaitUntil([&] { return redis->Ping(); }, milliseconds(2000)));
  EXPECT_FALSE(redis->down());
}

// The request threads of a worker child each have a client: once one of them has connected
// after an outage, a sibling still inside its retry window tries at once instead of answering
// 503 until the window ends.
TEST_F(RedisTest, BackingOffClientRetriesOnceASiblingHasConnected) {
  auto backing_off = Client(/*retry_after_ms=*/60000);
  ASSERT_TRUE(backing_off->Ping());
  StallWrites(800);
  EXPECT_EQ(backing_off->Command({"SET", "k", "v"}), nullptr);  // timed out
  EXPECT_TRUE(backing_off->down());
  EXPECT_EQ(backing_off->Command({"GET", "k"}), nullptr);  // inside its 60 s window
  auto sibling = Client();
  EXPECT_TRUE(WaitUntil([&] { return sibling->Ping(); }, milliseconds(2000)));
  EXPECT_TRUE(backing_off->Ping());  // long before its own window ends
  EXPECT_FALSE(backing_off->down());
}

// A stopped Redis refuses connections at once; the client tries again on the next call, so a
// restarted Redis serves the first request after it is back, not the first after a window.
// The socket path appears only after the failures, as a restarted Redis's would.
TEST_F(RedisTest, RefusedClientUsesRedisOnTheFirstCallAfterItIsBack) {
  if (config_.redis_socket.empty()) GTEST_SKIP() << "needs TICKETING_REDIS_SOCKET";
  const std::string link = ::testing::TempDir() + "redis-restart-" + std::to_string(::getpid()) + ".sock";
  std::filesystem::remove(link);
  RedisClient redis("", 0, link, 500, /*retry_after_ms=*/60000, &metrics_);
  EXPECT_EQ(redis.Command({"GET", "k"}), nullptr);
  EXPECT_EQ(redis.Command({"GET", "k"}), nullptr);
  EXPECT_TRUE(redis.down());
  std::filesystem::create_symlink(config_.redis_socket, link);
  EXPECT_TRUE(redis.Ping());  // long before its 60 s window would have ended
  EXPECT_FALSE(redis.down());
  std::filesystem::remove(link);
}

class BalanceCacheTest : public RedisTest {};

TEST_F(BalanceCacheTest, PutNeverLowersTheVersion) {
  auto redis = Client();
  RedisBalanceCache cache(*redis, 60);
  EXPECT_FALSE(cache.Get(7).has_value());
  cache.Put(7, WalletBalance{500, 5});
  auto got = cache.Get(7);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->balance, 500);
  EXPECT_EQ(got->version, 5);
  cache.Put(7, WalletBalance{300, 3});  // a reader that raced a payment
  EXPECT_EQ(cache.Get(7)->version, 5);
  EXPECT_EQ(cache.Get(7)->balance, 500);
  cache.Put(7, WalletBalance{999, 5});  // same version: the first write stands
  EXPECT_EQ(cache.Get(7)->balance, 500);
  cache.Put(7, WalletBalance{0, 6});
  EXPECT_EQ(cache.Get(7)->balance, 0);
  EXPECT_EQ(cache.Get(7)->version, 6);
  // Versions are compared as numbers, not strings ("10" > "9").
  cache.Put(7, WalletBalance{10, 10});
  cache.Put(7, WalletBalance{9, 9});
  EXPECT_EQ(cache.Get(7)->version, 10);
  const RedisReply ttl = redis->Command({"TTL", BalanceKey(7)});
  ASSERT_TRUE(ttl && ttl->type == REDIS_REPLY_INTEGER);
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 60);
}

TEST_F(BalanceCacheTest, GarbageIsAMiss) {
  auto redis = Client();
  RedisBalanceCache cache(*redis, 60);
  ASSERT_TRUE(redis->Command({"SET", BalanceKey(8), "garbage"}));
  EXPECT_FALSE(cache.Get(8).has_value());
  // A value without a version is replaced by the next Put.
  cache.Put(8, WalletBalance{42, 1});
  EXPECT_EQ(cache.Get(8)->balance, 42);
}

TEST_F(BalanceCacheTest, RacingStaleWriterNeverWins) {
  constexpr int64_t kVersions = 1500;
  std::atomic<bool> done{false};
  std::atomic<int64_t> regressions{0};
  std::atomic<int64_t> inconsistent{0};
  std::thread writer([&] {
    auto redis = Client();
    RedisBalanceCache cache(*redis, 60);
    for (int64_t v = 1; v <= kVersions; ++v) cache.Put(9, WalletBalance{v * 10, v});
    done = true;
  });
  std::thread stale([&] {
    // A reader that loaded an old row from MySQL and puts it back late, over and over.
    auto redis = Client();
    RedisBalanceCache cache(*redis, 60);
    int64_t v = 1;
    while (!done) {
      cache.Put(9, WalletBalance{v * 10, v});
      v = v % 50 + 1;
    }
  });
  std::thread reader([&] {
    auto redis = Client();
    RedisBalanceCache cache(*redis, 60);
    int64_t last = 0;
    while (!done) {
      const auto got = cache.Get(9);
      if (!got) continue;
      if (got->version < last) ++regressions;
      if (got->balance != got->version * 10) ++inconsistent;
      last = got->version;
    }
  });
  writer.join();
  stale.join();
  reader.join();
  EXPECT_EQ(regressions.load(), 0);
  EXPECT_EQ(inconsistent.load(), 0);
  auto redis = Client();
  RedisBalanceCache cache(*redis, 60);
  ASSERT_TRUE(cache.Get(9).has_value());
  EXPECT_EQ(cache.Get(9)->version, kVersions);
  EXPECT_EQ(cache.Get(9)->balance, kVersions * 10);
}

TEST_F(BalanceCacheTest, UpdateLostDuringAnOutageInvalidatesTheEntry) {
  auto redis = Client(/*retry_after_ms=*/100);
  RedisBalanceCache cache(*redis, 60);
  cache.Put(10, WalletBalance{50000, 1});
  ASSERT_EQ(cache.Get(10)->balance, 50000);
  StallWrites(800);
  cache.Put(10, WalletBalance{40000, 2});  // the payment's update is lost
  // Until the stale entry is deleted, the cache answers "miss", never the old balance.
  const auto during = cache.Get(10);
  EXPECT_FALSE(during.has_value() && during->balance == 50000);
  ASSERT_TRUE(WaitUntil([&] { return redis->Ping(); }, milliseconds(2000)));
  EXPECT_FALSE(cache.Get(10).has_value());
  auto observer = Client();
  const RedisReply raw = observer->Command({"EXISTS", BalanceKey(10)});
  ASSERT_TRUE(raw && raw->type == REDIS_REPLY_INTEGER);
  EXPECT_EQ(raw->integer, 0);
}

// Two processes of one pool share the pending set (shared memory in the worker): a lost
// update in one is invalidated by the other before it serves a cached balance.
TEST_F(BalanceCacheTest, LostUpdateIsInvisibleToOtherProcesses) {
  PendingInvalidations& shared = *CreateShared<PendingInvalidations>();
  auto writer_redis = Client(/*retry_after_ms=*/100);
  RedisBalanceCache writer(*writer_redis, 60, &shared);
  writer.Put(11, WalletBalance{50000, 1});
  StallWrites(800);
  writer.Put(11, WalletBalance{40000, 2});  // lost; the pool's shared set remembers it
  auto other_redis = Client();
  RedisBalanceCache other_process(*other_redis, 60, &shared);
  const auto seen = other_process.Get(11);
  EXPECT_FALSE(seen.has_value() && seen->balance == 50000)
      << "another worker serves the pre-payment balance " << seen->balance;
}

}  // namespace
}  // namespace ticketing::testing
