// ticketing-worker: the FastCGI worker pool (one master, N request children, a housekeeper).
#include <csignal>
#include <cstdio>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/shared_memory.hpp"
#include "workers/process/child.hpp"
#include "workers/process/listen_socket.hpp"
#include "workers/process/master.hpp"

int main(int argc, char** argv) {
  using namespace ticketing;
  Config config;
  if (const int code = LoadConfigForMain(argc, argv, "ticketing-worker", config); code != 0) return code;
  InitLog(ParseLogLevel(config.log_level), "master");
  // A peer that closed its end (nginx dropping a kept connection, Redis restarting behind its
  // unix socket) must come back as EPIPE from write(2), not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
  // Request threads share two malloc arenas instead of one each (glibc's default allows 8 per
  // core): what a thread frees - the rows of a 110,000-seat map it loaded - is reused by the
  // others instead of staying resident in its own arena. A child of 12 threads measured 28 MB
  // after the seat-map benchmark instead of 64-170 MB, at the same request rates
  // (docs/benchmarks.md). Small blocks come from per-thread caches either way.
  mallopt(M_ARENA_MAX, 2);
#endif
  ListenSocket socket;
  try {
    socket = OpenListenSocket(config.listen, config.listen_backlog);
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "cannot open the FastCGI socket").Str("detail", e.what());
    return 1;
  }
  Metrics metrics = Metrics::CreateShared();
  PendingInvalidations& invalidations = *CreateShared<PendingInvalidations>();
  Log(LogLevel::kInfo, "master starting").Str("listen", config.listen).Int("workers", config.workers);
  Master master(config, metrics, socket.unix_path, [&](ChildRole role) {
    return role == ChildRole::kServer ? ServeRequests(socket.fd, config, metrics, invalidations)
                                      : KeepHouse(config, metrics, invalidations);
  });
  return master.Run();
}
