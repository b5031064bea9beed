// SumEvents: what each event type adds to the sales and wallet-activity projections.
#include "outbox/consumer/projection.hpp"

namespace ticketing {

ProjectionDelta SumEvents(const std::vector<const PaymentEvent*>& events) {
  ProjectionDelta delta;
  for (const PaymentEvent* event : events) {
    if (event->type == kPaymentCompleted) {
      auto& sales = delta.sales[event->schedule_id];
      sales.tickets++;
      sales.revenue += event->amount;
      auto& activity = delta.activity[event->user_id];
      activity.payments++;
      activity.paid_amount += event->amount;
      activity.events++;
    } else if (event->type == kWalletCharged) {
      auto& activity = delta.activity[event->user_id];
      activity.charges++;
      activity.charged_amount += event->amount;
      activity.events++;
    }
    // Other types are recorded as processed and otherwise ignored: a newer producer may add
    // types this consumer does not project.
  }
  return delta;
}

}  // namespace ticketing
