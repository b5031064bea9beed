// What a worker child does: serve FastCGI requests, or keep house (expired holds, old keys).
#pragma once

#include "core/config.hpp"
#include "core/metrics.hpp"

namespace ticketing {

// Serves requests until a stop signal; then finishes the request in flight, drains what is
// already queued on the socket, and returns the exit code.
int ServeRequests(int listen_fd, const Config& config, Metrics& metrics);

// Releases expired holds every sweep interval and prunes idempotency keys past retention.
int KeepHouse(const Config& config, Metrics& metrics);

}  // namespace ticketing
