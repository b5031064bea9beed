# shellcheck shell=bash
# The local stack's settings, directories, pid files and process helpers (sourced by scripts/stack).

# shellcheck disable=SC2034  # settings are read by the component files

STACK="${TICKETING_STACK_DIR:-$REPO_ROOT/.stack}"
mkdir -p "$STACK"
STACK="$(cd "$STACK" && pwd)"
RUN="$STACK/run"
LOGS="$STACK/logs"
ENV_FILE="$STACK/env"

# Settings written by an earlier `up` of this stack dir are the defaults; the caller's
# environment wins. So `TICKETING_STACK_DIR=/tmp/s2 scripts/stack reset` finds its ports.
load_env_file() {
  [[ -f "$ENV_FILE" ]] || return 0
  local line name
  while IFS= read -r line; do
    [[ "$line" =~ ^export\ (TICKETING_[A-Z0-9_]+)= ]] || continue
    name="${BASH_REMATCH[1]}"
    [[ -n "${!name+set}" ]] && continue
    eval "$line"
  done <"$ENV_FILE"
}
CALLER_VARS=" $(compgen -v TICKETING_ | tr '\n' ' ') "
load_env_file
db_settings_defaults

: "${TICKETING_HTTP_PORT:=8080}"
: "${TICKETING_REDIS_HOST:=127.0.0.1}"
: "${TICKETING_REDIS_PORT:=6380}"
# The workers talk to Redis over its unix socket (cheaper per call than TCP); tools use the port.
: "${TICKETING_REDIS_SOCKET:=$STACK/run/redis.sock}"
: "${TICKETING_KAFKA_PORT:=9092}"
: "${TICKETING_KAFKA_CONTROLLER_PORT:=9093}"
: "${TICKETING_KAFKA_TOPIC:=payment-events}"
: "${TICKETING_KAFKA_PARTITIONS:=6}"
: "${TICKETING_POOLS:=1}"
# One child of 8 request threads per pool: all threads share the child's kept FastCGI
# connections, so no request waits behind a busy thread while another is idle
# (docs/architecture.md, "Process model"). More pools give process isolation.
: "${TICKETING_WORKERS:=1}"
: "${TICKETING_THREADS:=8}"
: "${TICKETING_JWT_SECRET:=local-dev-secret-change-me}"
: "${TICKETING_HOLD_TTL_SECONDS:=300}"
: "${TICKETING_QUEUE_ADMIT_PER_SEC:=100}"
: "${TICKETING_QUEUE_MAX_ACTIVE:=1000}"
: "${TICKETING_QUEUE_ACTIVE_TTL_SECONDS:=600}"
: "${TICKETING_SHUTDOWN_GRACE_SECONDS:=30}"
# The local stack's demo sign-in for the web client (POST /api/dev/token). Never set elsewhere.
: "${TICKETING_DEV_LOGIN:=1}"
# The relay's and consumer's /metrics ports follow the HTTP port, so stacks side by side
# (development and tests) do not fight over one port.
: "${TICKETING_RELAY_METRICS_PORT:=$((TICKETING_HTTP_PORT + 1))}"
: "${TICKETING_CONSUMER_METRICS_PORT:=$((TICKETING_HTTP_PORT + 2))}"
: "${TICKETING_WORKER_BIN:=$REPO_ROOT/build/workers/ticketing-worker}"
: "${TICKETING_RELAY_BIN:=$REPO_ROOT/build/outbox/ticketing-relay}"
: "${TICKETING_CONSUMER_BIN:=$REPO_ROOT/build/outbox/ticketing-consumer}"
: "${TICKETING_WEB_ROOT:=$REPO_ROOT/web}"
TICKETING_STACK_DIR="$STACK"
# Derived from the ports unless the caller set them: a port change must not keep stale values.
[[ "$CALLER_VARS" == *" TICKETING_KAFKA_BROKERS "* ]] \
  || TICKETING_KAFKA_BROKERS="127.0.0.1:$TICKETING_KAFKA_PORT"
[[ "$CALLER_VARS" == *" TICKETING_BASE_URL "* ]] \
  || TICKETING_BASE_URL="http://127.0.0.1:$TICKETING_HTTP_PORT"

# Every TICKETING_* variable in effect goes to the workers and into $STACK/env.
export_ticketing_vars() {
  local name
  for name in $(compgen -v TICKETING_); do
    # shellcheck disable=SC2163  # exporting the variable named by $name
    export "$name"
  done
}
export_ticketing_vars

# Per-request, per-pool or per-run settings that make no sense as stack-wide values.
ENV_FILE_SKIP=" TICKETING_LISTEN TICKETING_SEED_USERS TICKETING_SEED_SEATS "

write_env_file() {
  local name tmp="$ENV_FILE.tmp"
  {
    echo "# Written by scripts/stack up: the settings of the stack in $STACK."
    echo "# Use: source $ENV_FILE"
    for name in $(compgen -v TICKETING_ | sort); do
      [[ "$ENV_FILE_SKIP" == *" $name "* ]] && continue
      printf 'export %s=%q\n' "$name" "${!name}"
    done
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"
}

# ---- pid files and processes ------------------------------------------------------------

pid_file() { echo "$RUN/$1.pid"; }

# Prints the pid of a live component, or fails (removing a stale pid file).
live_pid() {
  local file pid state
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  [[ -n "$pid" ]] || return 1  # being written: not stale
  if state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" && [[ "$state" != Z ]]; then
    echo "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

is_running() { live_pid "$1" >/dev/null; }

# start_daemon <name> <log> <command...>: detached in its own session (and process group, so
# a stop can reach its children), stdin closed, pid recorded.
start_daemon() {
  local name="$1" logfile="$2"
  shift 2
  mkdir -p "$RUN" "$LOGS"
  echo "---- $(date -u +%FT%TZ) scripts/stack: starting $name: $* ----" >>"$logfile"
  setsid "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  echo $! >"$(pid_file "$name")"
}

# wait_ready <name> <deadline-seconds> <command...>: like wait_until, but gives up at once when
# the component's process has died (its log then says why).
wait_ready() {
  local name="$1" deadline=$(($(date +%s) + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    is_running "$name" || return 1
    (($(date +%s) < deadline)) || return 1
    sleep 0.1
  done
}

# stop_process <name> <signal> <deadline-seconds>: signal, wait, then SIGKILL the process group.
stop_process() {
  local name="$1" signal="$2" deadline="$3" pid
  pid="$(live_pid "$name")" || return 0
  kill "-$signal" "$pid" 2>/dev/null || true
  if ! wait_until "$deadline" process_gone "$pid"; then
    warn "$name (pid $pid) still running after ${deadline}s: SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 process_gone "$pid" || true
  fi
  # Children orphaned by a crashed master share its process group.
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$(pid_file "$name")"
}

process_gone() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 0
  [[ "$state" == Z ]]
}

# Fails when something else listens on the TCP port (a Debian service, another stack).
port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
require_free_port() {
  if port_in_use "$2"; then
    die "$1: 127.0.0.1:$2 is already in use by another process (set TICKETING_*_PORT to move it)"
  fi
}

# ---- progress lines and failures ---------------------------------------------------------

STEP_START=0
step_begin() { STEP_START="$(now_ms)"; }
step_ready() { # name detail
  log "$1 ... ready (${2:+$2, }$(elapsed_since "$STEP_START"))"
}
step_fail() { # name logfile message
  log "$1 ... FAILED: $3"
  if [[ -f "$2" ]]; then
    echo "---- last 30 lines of $2 ----" >&2
    tail -n 30 "$2" >&2
    echo "----" >&2
  fi
  exit 1
}
