# shellcheck shell=bash
# nginx of the local stack: config rendered from nginx/nginx.conf.template into $STACK/nginx,
# everything it writes (pid, temp files, logs) inside the stack dir.

NGINX_DIR="$STACK/nginx"
NGINX_CONF="$NGINX_DIR/nginx.conf"
NGINX_ERROR_LOG="$LOGS/nginx-error.log"
NGINX_ACCESS_LOG="$LOGS/nginx-access.log"
# shellcheck disable=SC2016  # envsubst's list of the variables it may replace
NGINX_TEMPLATE_VARS='$NGINX_USER $PID_FILE $ERROR_LOG $ACCESS_LOG $HTTP_ADDR $HTTP_PORT
  $UPSTREAM_SERVERS $WEB_ROOT $METRICS_ALLOW'

nginx_cmd() { nginx -c "$NGINX_CONF" -p "$NGINX_DIR/" -e "$NGINX_ERROR_LOG" "$@"; }

# One upstream server per pool; pools stopped by a trim are already out of the list.
nginx_upstreams() {
  local i
  for ((i = 1; i <= TICKETING_POOLS; i++)); do
    printf '        server unix:%s max_fails=1 fail_timeout=3s;\n' "$(worker_socket "$i")"
  done
}

nginx_config_sum() { cat "$NGINX_DIR"/*.conf 2>/dev/null | sha256sum; }

# Renders nginx.conf next to copies of the snippets; succeeds only when any of them changed.
nginx_render() {
  mkdir -p "$NGINX_DIR"/temp/{client_body,fastcgi,proxy,scgi,uwsgi} "$RUN" "$LOGS"
  local before
  before="$(nginx_config_sum)"
  cp "$REPO_ROOT"/nginx/*.conf "$NGINX_DIR/"
  # nginx keeps its own pid file (for -s reload/quit), apart from the stack's $RUN/nginx.pid:
  # nginx truncates and rewrites its file at start, and a stack check reading ours in that
  # instant found it empty, removed it as stale, and left a running nginx nobody knew of.
  NGINX_USER="$(id -un)" PID_FILE="$RUN/nginx.master.pid" ERROR_LOG="$NGINX_ERROR_LOG" \
    ACCESS_LOG="$NGINX_ACCESS_LOG" HTTP_ADDR=127.0.0.1 HTTP_PORT="$TICKETING_HTTP_PORT" \
    UPSTREAM_SERVERS="$(nginx_upstreams)" WEB_ROOT="$TICKETING_WEB_ROOT" METRICS_ALLOW=127.0.0.1 \
    envsubst "$NGINX_TEMPLATE_VARS" <"$REPO_ROOT/nginx/nginx.conf.template" >"$NGINX_CONF"
  [[ "$(nginx_config_sum)" != "$before" ]]
}

# Any HTTP answer will do: the workers' health is checked separately.
nginx_ready() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$TICKETING_BASE_URL/")" != 000 ]]
}

nginx_check_config() {
  local out
  if ! out="$(nginx_cmd -t -q 2>&1)"; then
    echo "$out" >&2
    step_fail nginx "$NGINX_ERROR_LOG" "nginx -t rejected $NGINX_CONF"
  fi
}

nginx_children() { pgrep -P "$1" | sort; }
# A worker process that was not there before the reload runs the new config.
nginx_has_new_worker() { [[ -n "$(comm -13 <(echo "$2") <(nginx_children "$1"))" ]]; }

nginx_reload() {
  local pid old
  pid="$(live_pid nginx)"
  old="$(nginx_children "$pid")"
  nginx_cmd -s reload || step_fail nginx "$NGINX_ERROR_LOG" "nginx -s reload failed"
  wait_until 10 nginx_has_new_worker "$pid" "$old" \
    || step_fail nginx "$NGINX_ERROR_LOG" "no worker with the new config within 10s"
}

nginx_up() {
  step_begin
  if is_running nginx; then
    if nginx_render; then
      nginx_check_config
      nginx_reload
      step_ready nginx "config changed: reloaded, pid $(live_pid nginx)"
    else
      step_ready nginx "already running, pid $(live_pid nginx)"
    fi
    return
  fi
  require_free_port nginx "$TICKETING_HTTP_PORT"
  nginx_render || true
  nginx_check_config
  start_daemon nginx "$NGINX_ERROR_LOG" nginx -c "$NGINX_CONF" -p "$NGINX_DIR/" \
    -e "$NGINX_ERROR_LOG" -g 'daemon off;'
  wait_ready nginx 30 nginx_ready \
    || step_fail nginx "$NGINX_ERROR_LOG" "no HTTP answer within 30s, or nginx exited"
  step_ready nginx "pid $(live_pid nginx), $TICKETING_BASE_URL"
}

nginx_stop() {
  local pid
  pid="$(live_pid nginx)" || return 0
  log "nginx ... stopping (pid $pid, graceful quit)"
  # quit: finish the requests in flight, accept no new ones. nginx removes its pid file
  # itself, so wait on the pid taken before the signal.
  nginx_cmd -s quit 2>/dev/null || kill -QUIT "$pid" 2>/dev/null || true
  if ! wait_until 30 process_gone "$pid"; then
    warn "nginx (pid $pid) still running after 30s: SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file nginx)"
}

nginx_state() {
  is_running nginx || { echo stopped; return; }
  nginx_ready && echo ready || echo running
}
