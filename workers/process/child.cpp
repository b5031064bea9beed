// The request loop of a worker child and the housekeeping loop.
#include "workers/process/child.hpp"

#include <fcgiapp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>

#include "core/log.hpp"
#include "workers/app.hpp"
#include "workers/fcgi/fcgi_exchange.hpp"
#include "workers/process/signals.hpp"

namespace ticketing {
namespace {

// During a graceful stop the socket counts as drained once it has been quiet this long.
constexpr int kDrainQuietMs = 100;
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

// Waits for a connection on the shared listening socket. EPOLLEXCLUSIVE wakes one idle child
// per connection instead of every child (no thundering herd); stop signals are deliverable
// only inside the wait, as with WaitReadable.
class ListenWaiter {
 public:
  explicit ListenWaiter(int listen_fd) : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLEXCLUSIVE;
    event.data.fd = listen_fd;
    if (epoll_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd, &event) != 0) {
      throw std::runtime_error("epoll setup for the listening socket failed");
    }
  }
  ~ListenWaiter() { close(epoll_fd_); }
  ListenWaiter(const ListenWaiter&) = delete;
  ListenWaiter& operator=(const ListenWaiter&) = delete;

  int Wait(int timeout_ms) {
    epoll_event event{};
    sigset_t during_wait;
    sigemptyset(&during_wait);
    return epoll_pwait(epoll_fd_, &event, 1, timeout_ms, &during_wait);
  }

 private:
  int epoll_fd_;
};

bool ServeOne(FCGX_Request& fcgi, App& app, size_t max_body) {
  if (FCGX_Accept_r(&fcgi) < 0) return false;  // another child won the connection
  const HttpRequest request = ReadRequest(fcgi, max_body);
  const HttpResponse response = app.Handle(request);
  WriteResponse(fcgi, response);
  FCGX_Finish_r(&fcgi);
  return true;
}

}  // namespace

int ServeRequests(int listen_fd, const Config& config, Metrics& metrics,
                  PendingInvalidations& invalidations) {
  App app(config, metrics, &invalidations);
  app.Warm();
  FCGX_Request fcgi;
  if (FCGX_InitRequest(&fcgi, listen_fd, 0) != 0) {
    Log(LogLevel::kError, "FCGX_InitRequest failed");
    return 1;
  }
  const auto max_body = static_cast<size_t>(config.max_body_bytes);
  ListenWaiter waiter(listen_fd);
  Log(LogLevel::kInfo, "worker ready");
  while (!g_stop_requested) {
    const int ready = waiter.Wait(-1);
    if (ready < 0 && errno != EINTR) {
      Log(LogLevel::kError, "epoll_pwait failed").Errno(errno);
      return 1;
    }
    if (ready > 0) ServeOne(fcgi, app, max_body);
  }
  // Graceful stop: connections nginx already queued on the socket are served, not reset.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(config.shutdown_grace_seconds);
  int drained = 0;
  while (std::chrono::steady_clock::now() < deadline && waiter.Wait(kDrainQuietMs) > 0) {
    if (ServeOne(fcgi, app, max_body)) ++drained;
  }
  Log(LogLevel::kInfo, "worker stopped").Int("drained", drained);
  return 0;
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
