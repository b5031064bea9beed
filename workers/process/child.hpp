// What a worker child does: serve FastCGI requests, or keep house (expired holds, old keys).
#pragma once

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "workers/repos/pending_invalidations.hpp"

namespace ticketing {

// Serves requests until a stop signal; then finishes the request in flight, drains what is
// already queued on the socket, and returns the exit code.
int ServeRequests(int listen_fd, const Config& config, Metrics& metrics,
                  PendingInvalidations& invalidations);

// Releases expired holds every sweep interval, prunes idempotency keys past retention, and
// drains the pool's pending cache invalidations even when no request arrives.
int KeepHouse(const Config& config, Metrics& metrics, PendingInvalidations& invalidations);

}  // namespace ticketing
