# shellcheck shell=bash
# Redis of the local stack: own config, port and data dir; AOF every second, no RDB snapshots.

REDIS_DIR="$STACK/redis"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_LOG="$LOGS/redis.log"

redis_render_config() {
  mkdir -p "$REDIS_DIR" "$RUN" "$LOGS"
  cat >"$REDIS_CONF" <<EOF
# Rendered by scripts/stack; edits are overwritten on the next up.
bind 127.0.0.1
port $TICKETING_REDIS_PORT
unixsocket $RUN/redis.sock
unixsocketperm 700
daemonize no
logfile ""
dir $REDIS_DIR
# No persistence: Redis holds nothing that MySQL does not decide (seat gates, cached balances,
# waiting-room positions). A restarted Redis starts empty, so it can never serve a balance
# cached before a payment it missed; ACTIVE waiting-room sessions survive in their signed
# tokens (docs/architecture.md, "Waiting room").
appendonly no
save ""
tcp-backlog 4096
maxclients 10000
EOF
}

redis_cli() { redis-cli -h 127.0.0.1 -p "$TICKETING_REDIS_PORT" "$@"; }
redis_ready() { [[ "$(redis_cli ping 2>/dev/null)" == PONG ]]; }

redis_up() {
  step_begin
  if is_running redis; then
    redis_ready || step_fail redis "$REDIS_LOG" "running but not answering PING"
    step_ready redis "already running, pid $(live_pid redis)"
    return
  fi
  require_free_port redis "$TICKETING_REDIS_PORT"
  redis_render_config
  start_daemon redis "$REDIS_LOG" redis-server "$REDIS_CONF"
  wait_ready redis 30 redis_ready \
    || step_fail redis "$REDIS_LOG" "no PONG within 30s, or redis-server exited"
  step_ready redis "pid $(live_pid redis), port $TICKETING_REDIS_PORT"
}

redis_stop() {
  is_running redis || return 0
  log "redis ... stopping (pid $(live_pid redis))"
  stop_process redis TERM 30
}

redis_state() {
  is_running redis || { echo stopped; return; }
  redis_ready && echo ready || echo running
}

redis_endpoint() { echo "127.0.0.1:$TICKETING_REDIS_PORT"; }
redis_logfile() { echo "$REDIS_LOG"; }
