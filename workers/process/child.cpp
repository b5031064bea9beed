// The request loop of a worker child and the housekeeping loop.
#include "workers/process/child.hpp"

#include <fcgiapp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "core/mysql_session.hpp"
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
class Connections {
 public:
  Connections(int listen_fd, size_t max_body)
      : listen_fd_(listen_fd), epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
        stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), max_body_(max_body) {
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

  // Wakes every thread of the child (a stop signal lands in one of them only).
  void WakeAll() {
    const uint64_t one = 1;
    const ssize_t n = write(stop_fd_, &one, sizeof one);
    (void)n;
  }

  // Waits up to `timeout_ms` (-1: forever) and serves the request found. Returns 1 when a
  // request was served, 0 when none was (timeout, a lost race, a closed connection, the stop
  // event), -1 when the wait failed (errno set).
  int ServeNext(App& app, int timeout_ms) {
    epoll_event event{};
    sigset_t during_wait;
    sigemptyset(&during_wait);
    const int wait_ms =
        LogPending() && (timeout_ms < 0 || timeout_ms > kLogFlushMs) ? kLogFlushMs : timeout_ms;
    const int ready = epoll_pwait(epoll_fd_, &event, 1, wait_ms, &during_wait);
    if (ready <= 0) FlushLog();  // idle (or interrupted): nothing waits behind the write
    if (ready < 0) return errno == EINTR ? 0 : -1;
    if (ready == 0 || event.data.u64 == kStopTag) return 0;
    const uint64_t index = event.data.u64 == kListenTag ? Acquire() : event.data.u64;
    FCGX_Request* slot = nullptr;
    {
      std::lock_guard lock(mutex_);
      slot = slots_[index].get();
    }
    const int served = Serve(app, *slot, index);
    FlushLogIfOlderThan(kLogFlushMs);
    return served;
  }

  int open_connections() const { return open_.load(std::memory_order_relaxed); }

 private:
  static constexpr uint64_t kListenTag = ~uint64_t{0};
  static constexpr uint64_t kStopTag = ~uint64_t{0} - 1;

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
      const HttpResponse response = app.Handle(request);
      WriteResponse(fcgi, response);
      FCGX_Finish_r(&fcgi);
      served = 1;
    }
    const bool has_connection = fcgi.ipcFd >= 0;
    if (has_connection != had_connection) open_.fetch_add(has_connection ? 1 : -1);
    if (!has_connection) {
      std::lock_guard lock(mutex_);
      free_.push_back(index);
      return served;
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
    return served;
  }

  int listen_fd_;
  int epoll_fd_;
  int stop_fd_;
  size_t max_body_;
  std::atomic<int> open_{0};
  std::mutex mutex_;  // guards slots_ (growth) and free_
  std::vector<std::unique_ptr<FCGX_Request>> slots_;
  std::vector<uint64_t> free_;
};

// One request thread: its own App (MySQL and Redis connections, caches), serving whatever
// request of the child's connections comes next. Returns how many it served while draining.
int RunRequestThread(Connections& connections, const Config& config, Metrics& metrics,
                     PendingInvalidations& invalidations, SeatMapCache& seat_maps,
                     std::atomic<bool>& failed) {
  MySqlThreadScope mysql_thread;
  BufferLog(true);
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
  Connections connections(listen_fd, static_cast<size_t>(config.max_body_bytes));
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
  Log(LogLevel::kInfo, "worker ready").Int("threads", config.threads);
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
