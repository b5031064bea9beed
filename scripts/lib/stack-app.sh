# shellcheck shell=bash
# The project's own processes: the FastCGI worker pools, the outbox relay and the consumer.
# They read every setting from the TICKETING_* environment the stack exports.

DEFAULT_WORKER_BIN="$REPO_ROOT/build/workers/ticketing-worker"

worker_socket() { echo "$RUN/worker-$1.sock"; }
worker_log() { echo "$LOGS/worker-$1.log"; }

# Pool numbers that have a pid file, running or not.
known_pools() {
  local f
  for f in "$RUN"/worker-*.pid; do
    [[ -e "$f" ]] || continue
    f="${f##*/worker-}"
    echo "${f%.pid}"
  done | sort -n
}

workers_ensure_binary() {
  [[ -x "$TICKETING_WORKER_BIN" ]] && return 0
  if [[ "$TICKETING_WORKER_BIN" == "$DEFAULT_WORKER_BIN" ]]; then
    log "workers ... $TICKETING_WORKER_BIN missing: running scripts/build"
    "$REPO_ROOT/scripts/build" || die "scripts/build failed"
  fi
  [[ -x "$TICKETING_WORKER_BIN" ]] || die "worker binary $TICKETING_WORKER_BIN not found"
}

worker_pool_up() { # pool-number
  local i="$1" name="worker-$1" sock log
  sock="$(worker_socket "$i")" log="$(worker_log "$i")"
  step_begin
  if is_running "$name"; then
    [[ -S "$sock" ]] || step_fail "$name" "$log" "running but $sock is missing"
    step_ready "$name" "already running, pid $(live_pid "$name")"
    return
  fi
  rm -f "$sock"
  TICKETING_LISTEN="unix:$sock" TICKETING_POOL="$i" \
    start_daemon "$name" "$log" "$TICKETING_WORKER_BIN"
  wait_ready "$name" 30 test -S "$sock" \
    || step_fail "$name" "$log" "socket $sock did not appear within 30s (or the master exited)"
  step_ready "$name" "pid $(live_pid "$name"), $TICKETING_WORKERS children x $TICKETING_THREADS threads, $sock"
}

workers_up() {
  workers_ensure_binary
  local i
  for ((i = 1; i <= TICKETING_POOLS; i++)); do worker_pool_up "$i"; done
}

# The workers answer through nginx: their readiness is a 200 from /health.
workers_health() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$TICKETING_BASE_URL/health")" == 200 ]]
}

workers_check_health() {
  step_begin
  if ! wait_until 30 workers_health; then
    step_fail workers "$(worker_log 1)" "GET $TICKETING_BASE_URL/health did not answer 200 within 30s"
  fi
  step_ready workers "GET /health -> 200 through nginx"
}

worker_pool_stop() { # pool-number
  local name="worker-$1"
  if is_running "$name"; then
    log "$name ... stopping (pid $(live_pid "$name"), SIGTERM," \
      "up to ${TICKETING_SHUTDOWN_GRACE_SECONDS}s)"
    stop_process "$name" TERM "$TICKETING_SHUTDOWN_GRACE_SECONDS"
  fi
  rm -f "$(worker_socket "$1")" "$(pid_file "$name")"
}

# Every request child and the housekeeper of a pool hold one MySQL connection each; the relay,
# the consumer, migrate/seed and an operator's client need a few more.
DB_CONNECTIONS_RESERVED=10

# The server's live max_connections when it answers, else the one the stack configures.
db_max_connections() {
  local value
  value="$(echo 'SELECT @@GLOBAL.max_connections' | mariadb_root 2>/dev/null)" || value=
  [[ "$value" =~ ^[0-9]+$ ]] || value="$(sed -n 's/^max_connections *= *//p' "$MARIADB_CNF" 2>/dev/null)"
  [[ "$value" =~ ^[0-9]+$ ]] || value=600
  echo "$value"
}

# Refuses a pools x children x threads that would need more MySQL connections than the server
# allows: the threads past the limit would answer every request 503.
# A running pool is counted by the threads of its actual children (it may have started with
# another shape; each request thread and the housekeeper hold one connection), a new one as
# TICKETING_WORKERS x TICKETING_THREADS + 1.
workers_check_connection_budget() { # pools
  local pools="$1" per_pool=$((TICKETING_WORKERS * TICKETING_THREADS + 1)) max pool_conns=0 i pid need
  max="$(db_max_connections)"
  for ((i = 1; i <= pools; i++)); do
    if pid="$(live_pid "worker-$i" 2>/dev/null)"; then
      pool_conns=$((pool_conns + $(ps -o nlwp= --ppid "$pid" | awk '{n += $1} END {print n + 0}')))
    else
      pool_conns=$((pool_conns + per_pool))
    fi
  done
  need=$((pool_conns + DB_CONNECTIONS_RESERVED))
  ((need <= max)) || die "$pools pools of $TICKETING_WORKERS children x $TICKETING_THREADS threads + 1 housekeeper need" \
    "$pool_conns MySQL connections, plus $DB_CONNECTIONS_RESERVED reserved: $need, more than" \
    "max_connections=$max of the database at $TICKETING_DB_HOST:$TICKETING_DB_PORT." \
    "Use fewer pools (TICKETING_POOLS), children (TICKETING_WORKERS) or threads (TICKETING_THREADS)"
}

# Pools above TICKETING_POOLS, after nginx stopped sending them requests.
workers_trim() {
  local i
  for i in $(known_pools); do
    ((i > TICKETING_POOLS)) && worker_pool_stop "$i"
  done
  return 0
}

workers_stop() {
  local i
  for i in $(known_pools); do worker_pool_stop "$i"; done
}

# ---- outbox relay and consumer: started only once their binaries exist --------------------

helper_bin() { # relay|consumer
  case "$1" in
    relay) echo "$TICKETING_RELAY_BIN" ;;
    consumer) echo "$TICKETING_CONSUMER_BIN" ;;
  esac
}

helper_up() { # relay|consumer
  local name="$1" bin log="$LOGS/$1.log"
  bin="$(helper_bin "$name")"
  step_begin
  if is_running "$name"; then
    step_ready "$name" "already running, pid $(live_pid "$name")"
    return
  fi
  if [[ ! -x "$bin" ]]; then
    log "$name ... skipped ($bin not built)"
    return
  fi
  start_daemon "$name" "$log" "$bin"
  is_running "$name" || step_fail "$name" "$log" "exited at start"
  step_ready "$name" "pid $(live_pid "$name")"
}

# A relay or consumer that died during the rest of `up` fails it (e.g. a bad setting).
helpers_check() {
  local name
  for name in relay consumer; do
    [[ -f "$(pid_file "$name")" ]] || continue
    is_running "$name" || step_fail "$name" "$LOGS/$name.log" "exited after start"
  done
}

helper_stop() { # relay|consumer
  is_running "$1" || return 0
  log "$1 ... stopping (pid $(live_pid "$1"))"
  stop_process "$1" TERM "$TICKETING_SHUTDOWN_GRACE_SECONDS"
}
