// Applies a batch of events to the projections, deduplicated on eventId, in one transaction.
#pragma once

#include <cstddef>
#include <vector>

#include "core/mysql_session.hpp"
#include "outbox/consumer/payment_event.hpp"

namespace ticketing {

struct ApplyResult {
  size_t applied = 0;
  size_t duplicates = 0;
};

class ProjectionRepository {
 public:
  explicit ProjectionRepository(MySqlSession& session) : session_(session) {}

  // START TRANSACTION; skip events already in processed_events (and repeats inside the
  // batch); record the rest there and add them to the projections; COMMIT. Throws DbError
  // (rolled back): a concurrent consumer that recorded one of these events first surfaces as
  // kDuplicate, and running the batch again then skips it.
  ApplyResult ApplyBatch(const std::vector<PaymentEvent>& events);

 private:
  std::vector<const PaymentEvent*> NewEvents(const std::vector<PaymentEvent>& events);
  void RecordProcessed(const std::vector<const PaymentEvent*>& events);
  void UpsertProjections(const std::vector<const PaymentEvent*>& events);

  MySqlSession& session_;
};

}  // namespace ticketing
