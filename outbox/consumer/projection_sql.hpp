// The consumer's SQL: statement heads completed with VALUES lists built from validated values.
#pragma once

namespace ticketing::projection_sql {

inline constexpr const char* kProcessedAmong =
    "SELECT event_id FROM processed_events WHERE event_id IN ";

inline constexpr const char* kInsertProcessed =
    "INSERT INTO processed_events"
    " (event_id, event_type, user_id, topic_partition, topic_offset, processed_at) VALUES ";

inline constexpr const char* kUpsertSales =
    "INSERT INTO sales_projection (schedule_id, tickets_sold, revenue, updated_at) VALUES ";
inline constexpr const char* kUpsertSalesTail =
    " ON DUPLICATE KEY UPDATE tickets_sold = tickets_sold + VALUES(tickets_sold),"
    " revenue = revenue + VALUES(revenue), updated_at = VALUES(updated_at)";

inline constexpr const char* kUpsertActivity =
    "INSERT INTO wallet_activity"
    " (user_id, charges, charged_amount, payments, paid_amount, events, updated_at) VALUES ";
inline constexpr const char* kUpsertActivityTail =
    " ON DUPLICATE KEY UPDATE charges = charges + VALUES(charges),"
    " charged_amount = charged_amount + VALUES(charged_amount),"
    " payments = payments + VALUES(payments), paid_amount = paid_amount + VALUES(paid_amount),"
    " events = events + VALUES(events), updated_at = VALUES(updated_at)";

}  // namespace ticketing::projection_sql
