// Per-user ordering across concurrent relays: which claimed rows may be published now.
#pragma once

#include <cstdint>
#include <vector>

#include "outbox/relay/outbox_row.hpp"

namespace ticketing {

struct PendingRef {
  int64_t id;
  int64_t aggregate_id;
};

// `claimed` are this relay's locked rows in id order; `pending` is every PENDING row with an
// id up to the last claimed one, as committed. A claimed row is held back when an earlier
// PENDING row of the same user is not in the claim (another relay holds it, or it waits for a
// retry): publishing it first would reorder that user's events. Returns indexes into `claimed`.
std::vector<size_t> SelectPublishable(const std::vector<OutboxRow>& claimed,
                                      const std::vector<PendingRef>& pending);

}  // namespace ticketing
