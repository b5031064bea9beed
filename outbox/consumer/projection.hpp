// The projection change of a batch of new (already deduplicated) events, summed in memory.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "outbox/consumer/payment_event.hpp"

namespace ticketing {

struct SalesDelta {
  int64_t tickets = 0;
  int64_t revenue = 0;
};

struct ActivityDelta {
  int64_t charges = 0;
  int64_t charged_amount = 0;
  int64_t payments = 0;
  int64_t paid_amount = 0;
  int64_t events = 0;
};

// Ordered maps: the upserts touch rows in key order, so two consumers cannot deadlock on them.
struct ProjectionDelta {
  std::map<int64_t, SalesDelta> sales;        // by schedule id
  std::map<int64_t, ActivityDelta> activity;  // by user id
};

ProjectionDelta SumEvents(const std::vector<const PaymentEvent*>& events);

}  // namespace ticketing
