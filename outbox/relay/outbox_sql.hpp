// The relay's SQL, one named constant per statement (MariaDB 10.11 and MySQL 8.0 alike).
#pragma once

namespace ticketing::outbox_sql {

// The claim: the oldest due PENDING rows nobody else holds. The row locks last until the
// batch's COMMIT, so a concurrent relay skips these rows instead of publishing them twice.
inline constexpr const char* kClaimBatch =
    "SELECT id, event_id, aggregate_id, event_type, payload, attempts FROM outbox"
    " WHERE status = 'PENDING'"
    "   AND (next_attempt_at IS NULL OR next_attempt_at <= UTC_TIMESTAMP(3))"
    " ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED";

// A plain (non-locking) read of every PENDING row up to the batch's last id: the rows it
// returns that the claim did not get are held by another relay or waiting for a retry, and
// their users' later rows must not overtake them.
inline constexpr const char* kPendingUpTo =
    "SELECT id, aggregate_id FROM outbox WHERE status = 'PENDING' AND id <= ?";

inline constexpr const char* kScheduleRetry =
    "UPDATE outbox SET attempts = attempts + 1, last_error = ?,"
    " next_attempt_at = DATE_ADD(UTC_TIMESTAMP(3), INTERVAL ? MICROSECOND) WHERE id = ?";

inline constexpr const char* kQuarantine =
    "UPDATE outbox SET status = 'QUARANTINED', attempts = attempts + 1, last_error = ?"
    " WHERE id = ?";

// The retention sweep works on the oldest 5,000 PUBLISHED rows at a time (by id, through
// outbox_pending): bounded work per statement and no extra index to maintain on every mark.
// published_at roughly follows id, so a row is at worst kept one chunk longer.
inline constexpr const char* kOldestPublishedChunkEnd =
    "SELECT MAX(id) FROM (SELECT id FROM outbox WHERE status = 'PUBLISHED'"
    " ORDER BY id LIMIT 5000) oldest";

inline constexpr const char* kDeleteExpired =
    "DELETE FROM outbox WHERE status = 'PUBLISHED' AND id <= ?"
    " AND published_at < DATE_SUB(UTC_TIMESTAMP(3), INTERVAL ? HOUR)";

inline constexpr const char* kBacklog =
    "SELECT COUNT(*), COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(created_at), UTC_TIMESTAMP(3)), 0)"
    " FROM outbox WHERE status = 'PENDING'";

inline constexpr const char* kQuarantinedCount =
    "SELECT COUNT(*) FROM outbox WHERE status = 'QUARANTINED'";

// The start of the one statement that marks a batch; the relay appends "(id,id,...)".
inline constexpr const char* kMarkPublishedPrefix =
    "UPDATE outbox SET status = 'PUBLISHED', published_at = UTC_TIMESTAMP(3), last_error = NULL"
    " WHERE status = 'PENDING' AND id IN ";

}  // namespace ticketing::outbox_sql
