# shellcheck shell=bash
# Shared by the scripts in scripts/: repo paths, settings with defaults, logging, polling.
# Sourced, never run; callers set `set -euo pipefail` themselves.

# shellcheck disable=SC2034  # the settings below are read by the scripts that source this

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOG_TAG="${LOG_TAG:-$(basename "$0")}"

log() { printf '[%s] %s\n' "$LOG_TAG" "$*"; }
warn() { printf '[%s] warning: %s\n' "$LOG_TAG" "$*" >&2; }
die() {
  printf '[%s] error: %s\n' "$LOG_TAG" "$*" >&2
  exit 1
}

# Milliseconds since the epoch, for "ready in 1.2s" lines.
now_ms() { date +%s%3N; }
elapsed_since() { # start_ms -> "1.2s"
  local ms=$(($(now_ms) - $1))
  printf '%d.%01ds' $((ms / 1000)) $(((ms % 1000) / 100))
}

# wait_until <deadline-seconds> <command...>: polls every 0.1 s until the command succeeds.
wait_until() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.1
  done
}

# Kafka comes from Maven Central into a cache shared by every checkout and stack dir.
KAFKA_VERSION="${TICKETING_KAFKA_VERSION:-4.1.1}"
LOG4J_VERSION="${TICKETING_LOG4J_VERSION:-2.24.3}"
TICKETING_CACHE="${TICKETING_CACHE:-${HOME:-/root}/.cache/ticketing}"
KAFKA_HOME="$TICKETING_CACHE/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"

# Database settings: the stack, migrate, seed and the workers all read the same variables.
db_settings_defaults() {
  : "${TICKETING_DB_HOST:=127.0.0.1}"
  : "${TICKETING_DB_PORT:=3307}"
  : "${TICKETING_DB_NAME:=ticketing}"
  : "${TICKETING_DB_USER:=ticketing}"
  : "${TICKETING_DB_PASSWORD:=ticketing}"
  export TICKETING_DB_HOST TICKETING_DB_PORT TICKETING_DB_NAME TICKETING_DB_USER \
    TICKETING_DB_PASSWORD
}

# Runs the mariadb (or mysql) client against TICKETING_DB_* with the password kept off argv.
db_client() {
  local client
  client="$(command -v mariadb || command -v mysql)" || die "no mariadb/mysql client installed"
  MYSQL_PWD="$TICKETING_DB_PASSWORD" "$client" --no-defaults --protocol=TCP \
    -h "$TICKETING_DB_HOST" -P "$TICKETING_DB_PORT" -u "$TICKETING_DB_USER" \
    --batch --skip-column-names "$@"
}
