// RedisPipe on hiredis' buffers and reply reader, with the descriptor in non-blocking mode.
#include "core/redis_pipe.hpp"

#include <fcntl.h>
#include <sys/epoll.h>

#include <cerrno>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace ticketing {
namespace {

int64_t SteadyNs(RedisPipe::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

RedisPipe::RedisPipe(std::string host, int port, std::string unix_socket, int timeout_ms,
                     int retry_after_ms, Metrics* metrics, int epoll_fd, uint64_t epoll_tag)
    : host_(std::move(host)),
      port_(port),
      unix_socket_(std::move(unix_socket)),
      timeout_(timeout_ms),
      retry_after_(retry_after_ms),
      metrics_(metrics),
      epoll_fd_(epoll_fd),
      epoll_tag_(epoll_tag) {}

RedisPipe::~RedisPipe() {
  if (context_) redisFree(context_);
}

bool RedisPipe::EnsureConnectedLocked() {
  if (context_) return true;
  const auto started = Clock::now();
  if (started < next_attempt_) return false;
  const timeval tv{static_cast<time_t>(timeout_.count() / 1000),
                   static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  context_ = unix_socket_.empty() ? redisConnectWithTimeout(host_.c_str(), port_, tv)
                                  : redisConnectUnixWithTimeout(unix_socket_.c_str(), tv);
  if (context_ == nullptr || context_->err != 0) {
    const std::string why = context_ ? context_->errstr : "allocation failed";
    // A refused connection (Redis stopped) cost nothing: the next command tries again. One
    // that took a timeout keeps commands off Redis for retry_after_ms, as RedisClient does.
    DropLocked(why, Clock::now() - started >= timeout_ / 2, nullptr);
    return false;
  }
  const int flags = fcntl(context_->fd, F_GETFL);
  if (flags < 0 || fcntl(context_->fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    DropLocked("fcntl O_NONBLOCK failed", false, nullptr);
    return false;
  }
  context_->flags &= ~REDIS_BLOCK;  // hiredis: EAGAIN now means "nothing yet", not an error
  output_pending_ = false;
  ArmLocked(EPOLL_CTL_ADD);
  Log(LogLevel::kInfo, "redis pipe connected")
      .Str("endpoint", unix_socket_.empty() ? host_ + ":" + std::to_string(port_) : unix_socket_);
  return true;
}

void RedisPipe::ArmLocked(int op) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLONESHOT | (output_pending_ ? EPOLLOUT : 0u);
  event.data.u64 = epoll_tag_;
  if (epoll_ctl(epoll_fd_, op, context_->fd, &event) != 0) {
    Log(LogLevel::kError, "epoll registration of the redis pipe failed").Errno(errno);
  }
}

void RedisPipe::DropLocked(const std::string& why, bool timed_out, std::vector<Completion>* out) {
  if (metrics_) metrics_->Increment(Counter::kRedisErrors);
  if (context_) redisFree(context_);  // closing the descriptor also takes it out of the set
  context_ = nullptr;
  const auto now = Clock::now();
  next_attempt_ = timed_out ? now + retry_after_ : now;
  if (now - logged_at_ >= retry_after_ || timed_out) {  // at most one line per window
    Log(LogLevel::kWarn, "redis pipe unavailable")
        .Str("detail", why)
        .Int("waiting", static_cast<int64_t>(waiters_.size()))
        .Str("retry", timed_out ? "after window" : "next request");
    logged_at_ = now;
  }
  if (out) {
    for (const Waiter& w : waiters_) out->push_back(Completion{w.tag, nullptr});
  }
  waiters_.clear();
  in_flight_ = 0;
  PublishDeadlineLocked();
}

bool RedisPipe::FlushLocked() {
  if (metrics_) metrics_->Increment(Counter::kRedisPipeWrites);
  output_pending_ = false;
  int done = 0;
  while (!done) {
    errno = 0;
    if (redisBufferWrite(context_, &done) != REDIS_OK) return false;
    if (!done && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      output_pending_ = true;  // the rest once the socket is writable (ArmLocked)
      return true;
    }
  }
  return true;
}

void RedisPipe::PublishDeadlineLocked() {
  deadline_ns_.store(waiters_.empty() ? 0 : SteadyNs(waiters_.front().deadline),
                     std::memory_order_relaxed);
}

bool RedisPipe::Send(const std::vector<std::string>& args, uint64_t tag,
                     std::vector<Completion>& broken) {
  std::vector<const char*> data;
  std::vector<size_t> lengths;
  data.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& a : args) {
    data.push_back(a.data());
    lengths.push_back(a.size());
  }
  std::lock_guard lock(mutex_);
  if (!EnsureConnectedLocked()) return false;
  if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), data.data(),
                             lengths.data()) != REDIS_OK) {
    DropLocked(context_->errstr, false, &broken);
    return false;
  }
  if (metrics_) metrics_->Increment(Counter::kRedisPipeCommands);
  // Corked while a batch is in flight: the command leaves with the next batch, once the
  // replies of this one have been read (Collect).
  const bool send_now = in_flight_ == 0;
  if (send_now && !FlushLocked()) {
    DropLocked(context_->errstr, false, &broken);
    return false;
  }
  waiters_.push_back(Waiter{tag, Clock::now() + timeout_});
  if (send_now) in_flight_ = waiters_.size();
  PublishDeadlineLocked();
  if (output_pending_) ArmLocked(EPOLL_CTL_MOD);
  return true;
}

void RedisPipe::Collect(std::vector<Completion>& out) {
  std::lock_guard lock(mutex_);
  if (!context_) return;
  if (redisBufferRead(context_) != REDIS_OK) {
    DropLocked(context_->errstr, false, &out);
    return;
  }
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) {
      DropLocked(context_->errstr, false, &out);
      return;
    }
    if (raw == nullptr) break;
    RedisReply reply(static_cast<redisReply*>(raw));
    if (in_flight_ == 0) {  // a reply to nothing that was sent: the stream cannot be trusted
      DropLocked("unexpected reply", false, &out);
      return;
    }
    const uint64_t tag = waiters_.front().tag;
    waiters_.pop_front();
    --in_flight_;
    if (reply->type == REDIS_REPLY_ERROR) {
      Log(LogLevel::kError, "redis error reply")
          .Str("detail", std::string_view(reply->str, reply->len));
      if (metrics_) metrics_->Increment(Counter::kRedisErrors);
      reply.reset();
    }
    out.push_back(Completion{tag, std::move(reply)});
  }
  // The rest of a write the socket did not take, or the commands corked behind the batch
  // whose last reply was just read: all of them go out as the next batch.
  if (output_pending_ || (in_flight_ == 0 && !waiters_.empty())) {
    if (!FlushLocked()) {
      DropLocked(context_->errstr, false, &out);
      return;
    }
    in_flight_ = waiters_.size();
  }
  PublishDeadlineLocked();
  ArmLocked(EPOLL_CTL_MOD);
}

void RedisPipe::ExpireOverdue(std::vector<Completion>& out) {
  const int64_t deadline = deadline_ns_.load(std::memory_order_relaxed);
  if (deadline == 0 || SteadyNs(Clock::now()) < deadline) return;
  std::lock_guard lock(mutex_);
  if (!waiters_.empty() && Clock::now() >= waiters_.front().deadline) {
    DropLocked("no reply within the timeout", true, &out);
  }
}

int RedisPipe::MillisUntilDeadline() const {
  const int64_t deadline = deadline_ns_.load(std::memory_order_relaxed);
  if (deadline == 0) return -1;
  const int64_t left_ns = deadline - SteadyNs(Clock::now());
  return left_ns <= 0 ? 0 : static_cast<int>(left_ns / 1000000) + 1;
}

}  // namespace ticketing
