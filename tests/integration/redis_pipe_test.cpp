// RedisPipe against the real Redis: pipelined replies in order, fail fast when Redis is down,
// every waiting command answered (null) when the connection breaks or Redis stops answering.
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/redis_pipe.hpp"
#include "tests/integration/integration_env.hpp"

namespace ticketing::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr uint64_t kPipeTag = 7777;

// A pipe in its own epoll set, driven the way the worker's request loop drives it.
class PipeRig {
 public:
  PipeRig(const Config& config, int timeout_ms, int retry_after_ms, Metrics* metrics,
          int port_override = 0)
      : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
        pipe_(config.redis_host, port_override ? port_override : config.redis_port,
              port_override ? "" : config.redis_socket, timeout_ms, retry_after_ms, metrics,
              epoll_fd_, kPipeTag) {}
  ~PipeRig() { close(epoll_fd_); }

  bool Send(std::vector<std::string> args, uint64_t tag) {
    return pipe_.Send(args, tag, done_);
  }
  // Waits (epoll) until `count` completions have arrived or `limit` has passed.
  std::vector<RedisPipe::Completion>& WaitFor(size_t count, milliseconds limit = milliseconds(3000)) {
    const auto until = steady_clock::now() + limit;
    while (done_.size() < count && steady_clock::now() < until) {
      int wait_ms = pipe_.MillisUntilDeadline();
      if (wait_ms < 0 || wait_ms > 50) wait_ms = 50;
      epoll_event event{};
      const int ready = epoll_wait(epoll_fd_, &event, 1, wait_ms);
      pipe_.ExpireOverdue(done_);
      if (ready == 1) {
        EXPECT_EQ(event.data.u64, kPipeTag);
        pipe_.Collect(done_);
      }
    }
    return done_;
  }
  RedisPipe& pipe() { return pipe_; }

 private:
  int epoll_fd_;
  RedisPipe pipe_;
  std::vector<RedisPipe::Completion> done_;
};

class RedisPipeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TICKETING_SKIP_WITHOUT_SERVICES();
    config_ = IntegrationConfig();
    FlushRedis(config_);
  }
  std::unique_ptr<RedisClient> Client() {
    return std::make_unique<RedisClient>(config_.redis_host, config_.redis_port,
                                         config_.redis_socket, 500, 100, nullptr);
  }
  Config config_;
  Metrics metrics_ = Metrics::CreateLocal();
};

TEST_F(RedisPipeTest, RepliesComeBackInOrderWithTheirTags) {
  PipeRig rig(config_, 2000, 500, &metrics_);
  constexpr int kPairs = 2000;
  for (int i = 0; i < kPairs; ++i) {
    const std::string key = "pipe:" + std::to_string(i);
    ASSERT_TRUE(rig.Send({"SET", key, "value-" + std::to_string(i)}, 2 * i));
    ASSERT_TRUE(rig.Send({"GET", key}, 2 * i + 1));
  }
  auto& done = rig.WaitFor(2 * kPairs);
  ASSERT_EQ(done.size(), 2u * kPairs);
  for (int i = 0; i < 2 * kPairs; ++i) {
    ASSERT_EQ(done[i].tag, static_cast<uint64_t>(i));
    ASSERT_TRUE(done[i].reply) << "command " << i;
    if (i % 2 == 1) {
      ASSERT_EQ(done[i].reply->type, REDIS_REPLY_STRING);
      EXPECT_EQ(std::string(done[i].reply->str, done[i].reply->len),
                "value-" + std::to_string(i / 2));
    }
  }
  EXPECT_EQ(rig.pipe().MillisUntilDeadline(), -1);  // nothing waits any more
  EXPECT_EQ(metrics_.Get(Counter::kRedisErrors), 0u);
}

// One batch in flight at a time: commands sent before its replies were read are corked and
// leave together, in one write, once they have been; an idle pipe writes at once.
TEST_F(RedisPipeTest, CommandsSentWhileABatchIsInFlightLeaveInOneWrite) {
  PipeRig rig(config_, 2000, 500, &metrics_);
  ASSERT_TRUE(Client()->Command({"SET", "corked", "yes"}));
  constexpr int kCorked = 50;
  ASSERT_TRUE(rig.Send({"GET", "corked"}, 0));
  EXPECT_EQ(metrics_.Get(Counter::kRedisPipeWrites), 1u);  // idle: written at once
  for (int i = 1; i <= kCorked; ++i) ASSERT_TRUE(rig.Send({"GET", "corked"}, i));
  EXPECT_EQ(metrics_.Get(Counter::kRedisPipeWrites), 1u);  // corked behind the first
  EXPECT_EQ(metrics_.Get(Counter::kRedisPipeCommands), 1u + kCorked);
  auto& done = rig.WaitFor(1 + kCorked);
  ASSERT_EQ(done.size(), 1u + kCorked);
  for (int i = 0; i <= kCorked; ++i) {
    EXPECT_EQ(done[i].tag, static_cast<uint64_t>(i));
    ASSERT_TRUE(done[i].reply);
    EXPECT_EQ(std::string(done[i].reply->str, done[i].reply->len), "yes");
  }
  EXPECT_EQ(metrics_.Get(Counter::kRedisPipeWrites), 2u);  // the 50 left in one write
  done.clear();
  ASSERT_TRUE(rig.Send({"GET", "corked"}, 99));  // idle again: no wait for anything
  EXPECT_EQ(metrics_.Get(Counter::kRedisPipeWrites), 3u);
  rig.WaitFor(1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].reply);
  EXPECT_EQ(rig.pipe().MillisUntilDeadline(), -1);
}

TEST_F(RedisPipeTest, ErrorReplyCompletesWithNullAndKeepsTheConnection) {
  PipeRig rig(config_, 2000, 500, &metrics_);
  ASSERT_TRUE(rig.Send({"SET", "text", "abc"}, 1));
  ASSERT_TRUE(rig.Send({"INCR", "text"}, 2));
  ASSERT_TRUE(rig.Send({"GET", "text"}, 3));
  auto& done = rig.WaitFor(3);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_TRUE(done[0].reply);
  EXPECT_FALSE(done[1].reply);
  ASSERT_TRUE(done[2].reply);
  EXPECT_EQ(std::string(done[2].reply->str, done[2].reply->len), "abc");
}

// Redis stopped: nothing to connect to. Every call fails at once and tries again next time.
TEST_F(RedisPipeTest, StoppedRedisFailsFastOnEveryCall) {
  PipeRig rig(config_, 200, 500, &metrics_, /*port_override=*/1);
  for (int i = 0; i < 50; ++i) {
    const auto started = steady_clock::now();
    EXPECT_FALSE(rig.Send({"GET", "k"}, i));
    EXPECT_LT(steady_clock::now() - started, milliseconds(50)) << "call " << i;
  }
  EXPECT_EQ(metrics_.Get(Counter::kRedisErrors), 50u);
  EXPECT_EQ(rig.pipe().MillisUntilDeadline(), -1);
}

// The server closes the connection (a Redis restart, CLIENT KILL) while commands wait: each
// of them completes with a null reply, and the next command goes out on a new connection.
TEST_F(RedisPipeTest, ConnectionClosedByTheServerAnswersEveryWaiter) {
  PipeRig rig(config_, 5000, 500, &metrics_);
  ASSERT_TRUE(rig.Send({"CLIENT", "ID"}, 1));
  auto& done = rig.WaitFor(1);
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].reply && done[0].reply->type == REDIS_REPLY_INTEGER);
  const std::string id = std::to_string(done[0].reply->integer);
  done.clear();
  ASSERT_TRUE(rig.Send({"BLPOP", "never-pushed", "10"}, 2));  // waits in Redis
  ASSERT_TRUE(rig.Send({"GET", "k"}, 3));                     // queued behind it
  const RedisReply killed = Client()->Command({"CLIENT", "KILL", "ID", id});
  ASSERT_TRUE(killed && killed->type == REDIS_REPLY_INTEGER && killed->integer == 1);
  const auto started = steady_clock::now();
  rig.WaitFor(2);
  EXPECT_LT(steady_clock::now() - started, milliseconds(1000));
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].tag, 2u);
  EXPECT_FALSE(done[0].reply);
  EXPECT_EQ(done[1].tag, 3u);
  EXPECT_FALSE(done[1].reply);
  done.clear();
  ASSERT_TRUE(rig.Send({"SET", "k", "v"}, 4));  // a refused or closed connection opens no window
  rig.WaitFor(1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].reply);
}

// Redis does not answer (here: a command it holds; a hung Redis looks the same from this side):
// after timeout_ms every waiting command completes with null, and no command is sent until
// retry_after_ms has passed - a hanging Redis costs requests nothing - then Redis is used again.
TEST_F(RedisPipeTest, NoReplyWithinTheTimeoutAnswersNullThenBacksOff) {
  PipeRig rig(config_, 200, 700, &metrics_);
  ASSERT_TRUE(rig.Send({"BLPOP", "never-pushed", "5"}, 1));
  ASSERT_TRUE(rig.Send({"GET", "k"}, 2));
  const int until_due = rig.pipe().MillisUntilDeadline();
  EXPECT_GT(until_due, 0);
  EXPECT_LE(until_due, 201);
  const auto started = steady_clock::now();
  auto& done = rig.WaitFor(2);
  const auto waited = steady_clock::now() - started;
  ASSERT_EQ(done.size(), 2u);
  EXPECT_FALSE(done[0].reply);
  EXPECT_FALSE(done[1].reply);
  EXPECT_GE(waited, milliseconds(150));
  EXPECT_LT(waited, milliseconds(600));
  done.clear();
  const auto refused_at = steady_clock::now();
  EXPECT_FALSE(rig.Send({"GET", "k"}, 3));  // inside the window: not even a connect
  EXPECT_LT(steady_clock::now() - refused_at, milliseconds(20));
  std::this_thread::sleep_for(milliseconds(750));
  ASSERT_TRUE(rig.Send({"GET", "k"}, 4));
  rig.WaitFor(1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tag, 4u);
  EXPECT_TRUE(done[0].reply);
}

// Many threads send at once while others collect: every command is answered exactly once.
TEST_F(RedisPipeTest, ConcurrentSendersEachGetTheirOwnReply) {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  RedisPipe pipe(config_.redis_host, config_.redis_port, config_.redis_socket, 2000, 500,
                 &metrics_, epoll_fd, kPipeTag);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::atomic<int>> answered(kThreads * kPerThread);
  std::atomic<int> total{0};
  std::atomic<bool> wrong{false};
  auto take = [&](std::vector<RedisPipe::Completion>& done) {
    for (auto& c : done) {
      // Each command was GET of a key holding its own tag.
      if (!c.reply || c.reply->type != REDIS_REPLY_STRING ||
          std::string(c.reply->str, c.reply->len) != std::to_string(c.tag)) {
        wrong = true;
      }
      answered[c.tag]++;
      total++;
    }
    done.clear();
  };
  {
    auto setup = Client();
    for (int i = 0; i < kThreads * kPerThread; ++i) {
      ASSERT_TRUE(setup->Command({"SET", "t:" + std::to_string(i), std::to_string(i)}));
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<RedisPipe::Completion> done;
      for (int i = 0; i < kPerThread; ++i) {
        const int tag = t * kPerThread + i;
        if (!pipe.Send({"GET", "t:" + std::to_string(tag)}, tag, done)) wrong = true;
        epoll_event event{};
        if (epoll_wait(epoll_fd, &event, 1, 0) == 1) pipe.Collect(done);
        take(done);
      }
      const auto until = steady_clock::now() + milliseconds(5000);
      while (total < kThreads * kPerThread && steady_clock::now() < until) {
        epoll_event event{};
        if (epoll_wait(epoll_fd, &event, 1, 20) == 1) pipe.Collect(done);
        take(done);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  close(epoll_fd);
  EXPECT_FALSE(wrong);
  EXPECT_EQ(total.load(), kThreads * kPerThread);
  for (int i = 0; i < kThreads * kPerThread; ++i) ASSERT_EQ(answered[i].load(), 1) << "tag " << i;
}

}  // namespace
}  // namespace ticketing::testing
