// The request loop of a worker child and the housekeeping loop.
#include "workers/process/child.hpp"

#include <fcgiapp.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/blocking.hpp"
#include "core/log.hpp"
#include "core/mysql_session.hpp"
#include "core/redis_pipe.hpp"
#include "workers/app.hpp"
#include "workers/fcgi/fcgi_exchange.hpp"
#include "workers/process/signals.hpp"

namespace ticketing {
namespace {

// During a graceful stop the socket counts as drained once it has been quiet this long.
constexpr int kDrainQuietMs = 100;
// Buffered request log lines reach the file at most this late (see BufferLog).
constexpr int kLogFlushMs = 100;
// Idempotency keys are kept at least 24 hours (contract); pruned after 48.
constexpr int kIdempotencyRetentionHours = 48;
constexpr int kSweepBatch = 1000;

// Sleeps up to `timeout_ms`, waking early for a stop signal (deliverable only here).
void SleepUnlessStopped(int timeout_ms) {
  sigset_t during_wait;
  sigemptyset(&during_wait);
  timespec timeout{timeout_ms / 1000, static_cast<long>(timeout_ms % 1000) * 1000000L};
  ppoll(nullptr, 0, &timeout, &during_wait);
}

// The connections of one child: the shared listening socket plus the FastCGI connections nginx
// keeps open to it (fastcgi_keep_conn), all in one epoll set that the child's request threads
// wait on together. The listening socket is EPOLLEXCLUSIVE, so a new connection wakes one idle
// child instead of every child. A kept connection is EPOLLONESHOT: its next request goes to
// exactly one thread, whichever is idle, and is armed again once answered. So a connection is
// never tied to a thread: a slow request holds one thread while the others keep serving the
// child's other connections (a connection waits only when every thread of its child is busy).
//
// The child never closes a kept connection on its own: nginx closes them (upstream
// keepalive_timeout and keepalive_time), so a request nginx writes to a cached connection can
// never meet a close from this side (nginx would not re-send a POST that failed that way).
//
// A request whose answer waits on Redis (a cached balance: AwaitRedis) does not hold its thread
// either: the thread sends the command on the child's RedisPipe, which every thread shares,
// parks the request with its connection (still disarmed) and serves the next one; whichever
// thread the pipe's replies wake finishes the parked requests, in the order they were sent.
// Under load the commands of many requests travel in one write and their replies in one read,
// and no thread sleeps on a Redis round trip.
//
// Poll slots: only `poll_threads` threads (one per CPU by default) wait on the epoll set at a
// time; the others wait on a condition variable. A thread keeps its slot while it serves
// requests that only compute or use the pipe, and goes straight back to epoll_pwait, which
// returns at once under load: a request costs no thread wake-up. A thread about to wait on the
// database (MySqlSession::Run calls WillBlock) hands its slot to an idle thread first, so the
// database's concurrency is still the full thread count. Twelve threads all waiting on the
// epoll set made every request wake a sleeping thread, which measured as a third of a
// worker's CPU on a 2-core VM.
class Connections final : public BlockingObserver {
 public:
  Connections(int listen_fd, const Config& config, Metrics& metrics, int poll_threads)
      : free_poll_slots_(poll_threads),
        listen_fd_(listen_fd), epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
        stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        max_body_(static_cast<size_t>(config.max_body_bytes)),
        pipe_(config.redis_host, config.redis_port, config.redis_socket, config.redis_timeout_ms,
              config.redis_retry_after_ms, &metrics, epoll_fd_, kRedisTag) {
    epoll_event listen{};
    listen.events = EPOLLIN | EPOLLEXCLUSIVE;
    listen.data.u64 = kListenTag;
    epoll_event stop{};
    stop.events = EPOLLIN;  // level-triggered: once written, every waiting thread sees it
    stop.data.u64 = kStopTag;
    if (epoll_fd_ < 0 || stop_fd_ < 0 ||
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd, &listen) != 0 ||
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &stop) != 0) {
      throw std::runtime_error("epoll setup for the listening socket failed");
    }
  }
  ~Connections() {
    for (auto& slot : slots_) FCGX_Free(slot.get(), 1);
    close(stop_fd_);
    close(epoll_fd_);
  }
  Connections(const Connections&) = delete;
  Connections& operator=(const Connections&) = delete;

  // Wakes every thread of the child (a stop signal lands in one of them only). From then on
  // every thread waits on the epoll set, to drain it.
  void WakeAll() {
    const uint64_t one = 1;
    const ssize_t n = write(stop_fd_, &one, sizeof one);
    (void)n;
    {
      std::lock_guard lock(slot_mutex_);
      stopping_ = true;
    }
    slot_free_.notify_all();
  }

  // Before a database round trip: the poll slot goes to an idle thread.
  void WillBlock() override {
    if (!t_holds_poll_slot) return;
    t_holds_poll_slot = false;
    {
      std::lock_guard lock(slot_mutex_);
      ++free_poll_slots_;
    }
    slot_free_.notify_one();
  }

  // Waits up to `timeout_ms` (-1: forever) and serves the request found. Returns 1 when a
  // request was served, 0 when none was (timeout, a lost race, a closed connection, the stop
  // event), -1 when the wait failed (errno set).
  int ServeNext(App& app, int timeout_ms) {
    if (!t_holds_poll_slot) {
      const int slot_ms =
          LogPending() && (timeout_ms < 0 || timeout_ms > kLogFlushMs) ? kLogFlushMs : timeout_ms;
      if (!TakePollSlot(slot_ms)) {
        FlushLog();  // idle: nothing waits behind the write
        return 0;
      }
    }
    epoll_event event{};
    sigset_t during_wait;
    sigemptyset(&during_wait);
    int wait_ms =
        LogPending() && (timeout_ms < 0 || timeout_ms > kLogFlushMs) ? kLogFlushMs : timeout_ms;
    const int redis_ms = pipe_.MillisUntilDeadline();
    if (redis_ms >= 0 && (wait_ms < 0 || redis_ms < wait_ms)) wait_ms = redis_ms;
    const int ready = epoll_pwait(epoll_fd_, &event, 1, wait_ms, &during_wait);
    if (ready <= 0) FlushLog();  // idle (or interrupted): nothing waits behind the write
    std::vector<RedisPipe::Completion> completions;
    pipe_.ExpireOverdue(completions);
    int served = FinishParked(app, completions);
    if (ready < 0) return errno == EINTR ? served : -1;
    if (ready == 0 || event.data.u64 == kStopTag) return served;
    if (event.data.u64 == kRedisTag) {
      pipe_.Collect(completions);
      served += FinishParked(app, completions);
      FlushLogIfOlderThan(kLogFlushMs);
      return served;
    }
    const uint64_t index = event.data.u64 == kListenTag ? Acquire() : event.data.u64;
    FCGX_Request* slot = nullptr;
    {
      std::lock_guard lock(mutex_);
      slot = slots_[index].get();
    }
    served += Serve(app, *slot, index);
    FlushLogIfOlderThan(kLogFlushMs);
    return served;
  }

  int open_connections() const { return open_.load(std::memory_order_relaxed); }

 private:
  static constexpr uint64_t kListenTag = ~uint64_t{0};
  static constexpr uint64_t kStopTag = ~uint64_t{0} - 1;
  static constexpr uint64_t kRedisTag = ~uint64_t{0} - 2;

  // Waits up to `timeout_ms` (-1: forever) for a free poll slot (any number while stopping).
  bool TakePollSlot(int timeout_ms) {
    std::unique_lock lock(slot_mutex_);
    const auto ready = [this] { return stopping_ || free_poll_slots_ > 0; };
    if (timeout_ms < 0) {
      slot_free_.wait(lock, ready);
    } else if (!slot_free_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready)) {
      return false;
    }
    if (stopping_) return true;  // draining: every thread polls; no slot is taken
    --free_poll_slots_;
    t_holds_poll_slot = true;
    return true;
  }

  // Answers the parked requests whose Redis replies (or failures) are in `completions`.
  int FinishParked(App& app, std::vector<RedisPipe::Completion>& completions) {
    for (auto& done : completions) {
      std::unique_ptr<PendingRequest> pending;
      FCGX_Request* slot = nullptr;
      {
        std::lock_guard lock(mutex_);
        pending = std::move(parked_[done.tag]);
        slot = slots_[done.tag].get();
      }
      if (!pending) {  // cannot happen: a tag is parked before it is sent
        Log(LogLevel::kError, "redis reply for a request that is not parked")
            .Int("slot", static_cast<int64_t>(done.tag));
        continue;
      }
      const HttpResponse response = app.Finish(*pending, done.reply.get());
      WriteResponse(*slot, response);
      FCGX_Finish_r(slot);
      Rearm(*slot, done.tag, true);
    }
    const int finished = static_cast<int>(completions.size());
    completions.clear();
    return finished;
  }

  // The index of a slot without a connection, for accepting one.
  uint64_t Acquire() {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      const uint64_t index = free_.back();
      free_.pop_back();
      return index;
    }
    auto slot = std::make_unique<FCGX_Request>();
    if (FCGX_InitRequest(slot.get(), listen_fd_, 0) != 0) {
      throw std::runtime_error("FCGX_InitRequest failed");
    }
    slots_.push_back(std::move(slot));
    parked_.emplace_back();
    return slots_.size() - 1;
  }

  // Reads the next request of `slot` (accepting a connection first when it has none), answers
  // it, and arms a kept connection for its next request; a slot left without a connection goes
  // back to the free list. libfcgi closes a connection nginx closed (EOF) and then tries the
  // listening socket, which is non-blocking: "nothing to accept" comes back as a negative
  // return. A closed descriptor leaves the epoll set by itself, so a reused number is added
  // again rather than modified.
  int Serve(App& app, FCGX_Request& fcgi, uint64_t index) {
    const bool had_connection = fcgi.ipcFd >= 0;
    int served = 0;
    if (FCGX_Accept_r(&fcgi) >= 0) {
      const HttpRequest request = ReadRequest(fcgi, max_body_);
      auto pending = std::make_unique<PendingRequest>();
      std::optional<HttpResponse> response = app.Start(request, *pending);
      if (!response) {
        // Parked before it is sent: any thread may read the reply the moment it is.
        const std::vector<std::string>& command = pending->await->command;
        {
          std::lock_guard lock(mutex_);
          parked_[index] = std::move(pending);
        }
        if (!had_connection) open_.fetch_add(1);
        std::vector<RedisPipe::Completion> broken;
        const bool sent = pipe_.Send(command, index, broken);
        served = FinishParked(app, broken);
        // Sent: the connection stays disarmed; the thread that finishes it re-arms it.
        if (sent) return served;
        {
          std::lock_guard lock(mutex_);
          pending = std::move(parked_[index]);
        }
        if (!had_connection) open_.fetch_sub(1);
        response = app.Finish(*pending, nullptr);  // Redis unreachable: answer without it
      }
      WriteResponse(fcgi, *response);
      FCGX_Finish_r(&fcgi);
      served += 1;
    }
    Rearm(fcgi, index, had_connection);
    return served;
  }

  // After an answer: arms a kept connection for its next request; a slot left without a
  // connection goes back to the free list.
  void Rearm(FCGX_Request& fcgi, uint64_t index, bool had_connection) {
    const bool has_connection = fcgi.ipcFd >= 0;
    if (has_connection != had_connection) open_.fetch_add(has_connection ? 1 : -1);
    if (!has_connection) {
      std::lock_guard lock(mutex_);
      free_.push_back(index);
      return;
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLONESHOT;
    event.data.u64 = index;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fcgi.ipcFd, &event) != 0 &&
        (errno != ENOENT || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fcgi.ipcFd, &event) != 0)) {
      Log(LogLevel::kError, "epoll registration of a kept connection failed").Errno(errno);
      FCGX_Free(&fcgi, 1);
      open_.fetch_sub(1);
      std::lock_guard lock(mutex_);
      free_.push_back(index);
    }
  }

  static inline thread_local bool t_holds_poll_slot = false;
  std::mutex slot_mutex_;
  std::condition_variable slot_free_;
  int free_poll_slots_;
  bool stopping_ = false;

  int listen_fd_;
  int epoll_fd_;
  int stop_fd_;
  size_t max_body_;
  std::atomic<int> open_{0};
  RedisPipe pipe_;
  std::mutex mutex_;  // guards slots_ (growth), parked_ and free_
  std::vector<std::unique_ptr<FCGX_Request>> slots_;
  std::vector<std::unique_ptr<PendingRequest>> parked_;  // by slot, while waiting on pipe_
  std::vector<uint64_t> free_;
};

}  // namespace

int CapByCpuMax(int cpus, const std::string& cpu_max) {
  std::istringstream in(cpu_max);
  std::string quota;
  int64_t period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return cpus;
  char* end = nullptr;
  const long long q = std::strtoll(quota.c_str(), &end, 10);
  if (end == quota.c_str() || *end != '\0' || q <= 0) return cpus;
  return static_cast<int>(std::min<int64_t>(cpus, (q + period - 1) / period));
}

namespace {

// The CPUs this process may use: its affinity mask, capped by the CPU quota (cgroup v2
// cpu.max, a container's `cpus:` limit) of its own cgroup or any cgroup above it, rounded up.
int CpusAvailable() {
  cpu_set_t set;
  int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  std::ifstream self("/proc/self/cgroup");
  std::string line;
  std::string path;
  while (std::getline(self, line)) {
    if (line.rfind("0::", 0) == 0) path = line.substr(3);  // the v2 hierarchy
  }
  for (;;) {
    std::ifstream file("/sys/fs/cgroup" + path + "/cpu.max");
    std::string cpu_max;
    if (std::getline(file, cpu_max)) cpus = CapByCpuMax(cpus, cpu_max);
    if (path.empty() || path == "/") break;
    path.resize(path.rfind('/'));
  }
  return std::max(cpus, 1);
}

// One request thread: its own App (MySQL and Redis connections, caches), serving whatever
// request of the child's connections comes next. Returns how many it served while draining.
int RunRequestThread(Connections& connections, const Config& config, Metrics& metrics,
                     PendingInvalidations& invalidations, SeatMapCache& seat_maps,
                     std::atomic<bool>& failed) {
  MySqlThreadScope mysql_thread;
  BufferLog(true);
  SetBlockingObserver(&connections);
  try {
    App app(config, metrics, &invalidations, &seat_maps);
    app.Warm();
    while (!g_stop_requested && !failed) {
      if (connections.ServeNext(app, -1) < 0) {
        Log(LogLevel::kError, "epoll_pwait failed").Errno(errno);
        failed = true;
        break;
      }
    }
    connections.WakeAll();
    // Graceful stop: the master has unlinked the socket's name, so nginx sends new requests to
    // the other pools. Connections nginx already queued on the socket are served, not reset,
    // and kept connections are served until nginx closes them (its upstream keepalive_timeout
    // and keepalive_time bound that); then the thread leaves once the socket has been quiet.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(config.shutdown_grace_seconds);
    int drained = 0;
    while (!failed && std::chrono::steady_clock::now() < deadline) {
      const int served = connections.ServeNext(app, kDrainQuietMs);
      if (served < 0) break;
      drained += served;
      if (served == 0 && connections.open_connections() == 0) break;
    }
    BufferLog(false);
    return drained;
  } catch (const std::exception& e) {
    BufferLog(false);
    Log(LogLevel::kError, "request thread failed").Str("detail", e.what());
    failed = true;
    connections.WakeAll();
    return 0;
  }
}

}  // namespace

int ServeRequests(int listen_fd, const Config& config, Metrics& metrics,
                  PendingInvalidations& invalidations) {
  const int poll_threads =
      std::clamp(config.poll_threads > 0 ? config.poll_threads : CpusAvailable(), 1, config.threads);
  Connections connections(listen_fd, config, metrics, poll_threads);
  MySqlThreadScope::InitDriver();  // before any thread connects
  SeatMapCache seat_maps;  // one copy of each rendered seat map per child, not per thread
  std::atomic<bool> failed{false};
  std::atomic<int> drained{0};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(config.threads - 1));
  for (int i = 1; i < config.threads; ++i) {
    threads.emplace_back([&] {
      drained += RunRequestThread(connections, config, metrics, invalidations, seat_maps, failed);
    });
  }
  Log(LogLevel::kInfo, "worker ready").Int("threads", config.threads).Int("poll_threads", poll_threads);
  drained += RunRequestThread(connections, config, metrics, invalidations, seat_maps, failed);
  for (auto& thread : threads) thread.join();
  Log(LogLevel::kInfo, "worker stopped")
      .Int("drained", drained.load())
      .Int("connections_left", connections.open_connections());
  return failed ? 1 : 0;
}

int KeepHouse(const Config& config, Metrics& metrics, PendingInvalidations& invalidations) {
  App app(config, metrics, &invalidations);
  PaymentStore& store = app.services().payment_store;
  auto next_prune = std::chrono::steady_clock::now();
  Log(LogLevel::kInfo, "housekeeper ready").Int("sweep_interval_ms", config.sweep_interval_ms);
  while (!g_stop_requested) {
    try {
      ReleasedHolds released;
      do {
        released = store.ReleaseExpiredHolds(kSweepBatch);
        if (released.seats > 0) {
          metrics.Increment(Counter::kHoldsReleased, static_cast<uint64_t>(released.seats));
          Log(LogLevel::kInfo, "expired holds released")
              .Int("seats", released.seats)
              .Int("reservations", released.reservations);
        }
      } while (released.seats == kSweepBatch && !g_stop_requested);
      if (std::chrono::steady_clock::now() >= next_prune) {
        const int64_t pruned =
            store.DeleteIdempotencyKeysOlderThan(kIdempotencyRetentionHours, 10000);
        if (pruned > 0) Log(LogLevel::kInfo, "idempotency keys pruned").Int("rows", pruned);
        next_prune = std::chrono::steady_clock::now() + std::chrono::minutes(1);
      }
      app.services().balance_cache.FlushPendingInvalidations();
      app.services().catalog.RefreshShared();
    } catch (const DbError& e) {
      Log(LogLevel::kWarn, "housekeeping failed; retrying next round").Int("code", e.code()).Str("detail", e.what());
    }
    SleepUnlessStopped(config.sweep_interval_ms);
  }
  return 0;
}

}  // namespace ticketing
