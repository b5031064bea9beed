#!/usr/bin/env bash
# Drain benchmark: writes an N-event outbox backlog in one set-wise INSERT (no relay running),
# then starts ticketing-relay and times how long the backlog takes to reach zero.
#   source <stack>/env; outbox/bench_drain.sh [events=100000] [relays=1]
# Needs the stack's MariaDB and Kafka (TICKETING_DB_*, TICKETING_KAFKA_*); stop the stack's
# own relay first (scripts/stack logs relay shows whether it runs) or it drains part of it.
set -euo pipefail
EVENTS="${1:-100000}"
RELAYS="${2:-1}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RELAY_BIN="${TICKETING_RELAY_BIN:-$REPO/build/outbox/ticketing-relay}"
[[ -x "$RELAY_BIN" ]] || { echo "bench_drain: $RELAY_BIN not built" >&2; exit 1; }
export MYSQL_PWD="${TICKETING_DB_PASSWORD:-ticketing}"
db() {
  mariadb -h "${TICKETING_DB_HOST:-127.0.0.1}" -P "${TICKETING_DB_PORT:-3307}" \
    -u "${TICKETING_DB_USER:-ticketing}" -N -B "${TICKETING_DB_NAME:-ticketing}" "$@"
}
now_ms() { date +%s%3N; }

pending() { db -e "SELECT COUNT(*) FROM outbox WHERE status = 'PENDING'"; }

[[ "$(pending)" == 0 ]] || { echo "bench_drain: outbox already has PENDING rows" >&2; exit 1; }

# Six digit tables cross-joined give 0..999999; users 1..1000 in turn, like real traffic.
start="$(now_ms)"
db -e "
  INSERT INTO outbox (event_id, aggregate_id, event_type, payload, created_at)
  SELECT u.id, u.user_id, 'WalletCharged',
         CONCAT('{\"eventId\":\"', u.id, '\",\"type\":\"WalletCharged\",\"occurredAt\":\"',
                DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%fZ'), '\",\"userId\":',
                u.user_id, ',\"amount\":1000,\"ledgerId\":0,\"balance\":0}'),
         UTC_TIMESTAMP(3)
  FROM (SELECT UUID() AS id, 1 + MOD(n, 1000) AS user_id
        FROM (SELECT a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 100000*g.d AS n
              FROM (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a,
                   (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b,
                   (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c,
                   (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) e,
                   (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) f,
                   (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) g) digits
        WHERE n < $EVENTS ORDER BY n) u"
echo "backlog of $(pending) events written in $(($(now_ms) - start)) ms"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait || true; }
trap cleanup EXIT
start="$(now_ms)"
for ((i = 0; i < RELAYS; i++)); do
  TICKETING_RELAY_METRICS_PORT=0 TICKETING_LOG_LEVEL=${BENCH_LOG_LEVEL:-warn} "$RELAY_BIN" 2>>"${TMPDIR:-/tmp}/bench_drain_relay.log" &
  pids+=("$!")
done
while [[ "$(pending)" != 0 ]]; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "bench_drain: relay $pid exited (see ${TMPDIR:-/tmp}/bench_drain_relay.log)" >&2; exit 1; }
  done
  sleep 0.05
done
ms=$(($(now_ms) - start))
echo "drained $EVENTS events with $RELAYS relay(s) in $ms ms: $((EVENTS * 1000 / (ms > 0 ? ms : 1))) events/s"
