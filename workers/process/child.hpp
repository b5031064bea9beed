// What a worker child does: serve FastCGI requests, or keep house (expired holds, old keys).
#pragma once

#include <string>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "workers/repos/pending_invalidations.hpp"

namespace ticketing {

// Serves requests until a stop signal; then finishes the request in flight, drains what is
// already queued on the socket, and returns the exit code.
int ServeRequests(int listen_fd, const Config& config, Metrics& metrics,
                  PendingInvalidations& invalidations);

// `cpus` capped by a cgroup v2 cpu.max text ("max 100000", or "<quota> <period>": the quota
// rounded up to whole CPUs). The default number of poll threads (TICKETING_POLL_THREADS=0).
int CapByCpuMax(int cpus, const std::string& cpu_max);

// Releases expired holds every sweep interval, prunes idempotency keys past retention, and
// drains the pool's pending cache invalidations even when no request arrives.
int KeepHouse(const Config& config, Metrics& metrics, PendingInvalidations& invalidations);

}  // namespace ticketing
