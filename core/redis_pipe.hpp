// One non-blocking Redis connection shared by the request threads of a worker child: commands
// from every thread are pipelined on it and the replies are read by whichever thread the
// child's epoll set wakes, so a request waiting on Redis holds no thread.
//
// At most one batch is in flight: a command sent while the pipe is idle is written at once; one
// sent while earlier commands await their replies is corked, and leaves with every other corked
// command in one write as soon as the last reply of the batch in flight has been read. Idle, a
// command waits for nothing; under load, Redis and the child pay one wake-up, one read and one
// write per batch instead of per command (ticketing_redis_pipe_commands_total / _writes_total
// is the mean batch).
#pragma once

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "core/redis_client.hpp"

namespace ticketing {

class Metrics;

class RedisPipe {
 public:
  using Clock = std::chrono::steady_clock;

  // The reply (null: none - the connection broke, Redis did not answer within timeout_ms, or
  // it answered an error) to the command sent with `tag`.
  struct Completion {
    uint64_t tag = 0;
    RedisReply reply;
  };

  // `epoll_fd`: the set the connection is registered in (EPOLLIN | EPOLLONESHOT, `epoll_tag` as
  // its data) while it is open; the owner calls Collect when it fires. `unix_socket`, when not
  // empty, is used instead of host and port. Connects on first use.
  RedisPipe(std::string host, int port, std::string unix_socket, int timeout_ms,
            int retry_after_ms, Metrics* metrics, int epoll_fd, uint64_t epoll_tag);
  ~RedisPipe();
  RedisPipe(const RedisPipe&) = delete;
  RedisPipe& operator=(const RedisPipe&) = delete;

  // Queues `args` and, unless a batch is in flight, writes what the socket takes; never waits
  // for the reply. False when it was not queued: no connection (Redis stopped: every call
  // tries to connect again; after a timeout, not before retry_after_ms) - the caller goes on
  // without Redis, as after RedisClient::Command returned null. When the connection breaks
  // while writing, the commands that were waiting on it are appended to `broken`, with null
  // replies.
  bool Send(const std::vector<std::string>& args, uint64_t tag, std::vector<Completion>& broken);

  // Reads what has arrived and appends the completed commands to `out`, in the order they were
  // sent; on a broken connection every waiting command completes with a null reply. Re-arms
  // the connection in the epoll set.
  void Collect(std::vector<Completion>& out);

  // Once the oldest waiting command has waited timeout_ms (a hanging Redis): drops the
  // connection and completes every waiting command with a null reply. Cheap when none is due.
  void ExpireOverdue(std::vector<Completion>& out);

  // Milliseconds until the oldest waiting command is due (-1: none waits), to bound the
  // owner's epoll wait.
  int MillisUntilDeadline() const;

 private:
  struct Waiter {
    uint64_t tag;
    Clock::time_point deadline;
  };

  bool EnsureConnectedLocked();
  void DropLocked(const std::string& why, bool timed_out, std::vector<Completion>* out);
  // Writes the output buffer; false when the connection broke.
  bool FlushLocked();
  void ArmLocked(int op);
  void PublishDeadlineLocked();

  const std::string host_;
  const int port_;
  const std::string unix_socket_;
  const std::chrono::milliseconds timeout_;
  const std::chrono::milliseconds retry_after_;
  Metrics* const metrics_;
  const int epoll_fd_;
  const uint64_t epoll_tag_;

  std::mutex mutex_;
  redisContext* context_ = nullptr;
  bool output_pending_ = false;  // the socket did not take all of it: wait for EPOLLOUT
  std::deque<Waiter> waiters_;  // sent or corked, oldest first
  size_t in_flight_ = 0;        // how many of waiters_ (from the front) were handed to the socket
  Clock::time_point next_attempt_{};
  Clock::time_point logged_at_{};
  // Deadline of the oldest waiter (steady ns; 0: none), read without the lock by every wait.
  std::atomic<int64_t> deadline_ns_{0};
};

}  // namespace ticketing
