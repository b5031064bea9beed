# shellcheck shell=bash
# MariaDB of the local stack: own datadir, config, socket and port; the schema and demo data.

MARIADB_DIR="$STACK/mariadb"
MARIADB_CNF="$MARIADB_DIR/my.cnf"
MARIADB_SOCK="$RUN/mysqld.sock"
MARIADB_LOG="$LOGS/mariadb.log"
# Root logs in through the socket as the OS user running the stack (unix_socket auth).
MARIADB_ADMIN_USER="$(id -un)"

mariadb_render_config() {
  mkdir -p "$MARIADB_DIR/data" "$MARIADB_DIR/tmp" "$RUN" "$LOGS"
  cat >"$MARIADB_CNF" <<EOF
# Rendered by scripts/stack; edits are overwritten on the next up.
[mariadbd]
user                           = $MARIADB_ADMIN_USER
datadir                        = $MARIADB_DIR/data
tmpdir                         = $MARIADB_DIR/tmp
socket                         = $MARIADB_SOCK
pid-file                       = $RUN/mariadb.pid
port                           = $TICKETING_DB_PORT
bind-address                   = 127.0.0.1
skip-name-resolve
log-error                      = $MARIADB_LOG
character-set-server           = utf8mb4
collation-server               = utf8mb4_unicode_ci
default-time-zone              = '+00:00'
performance_schema             = OFF
max_connections                = 600
thread_cache_size              = 128
table_open_cache               = 4000
max_allowed_packet             = 64M
# Payments: every commit is durable (fsync of the redo log at commit).
innodb_flush_log_at_trx_commit = 1
innodb_buffer_pool_size        = 512M
innodb_log_file_size           = 256M
innodb_log_buffer_size         = 32M
innodb_flush_method            = O_DIRECT
innodb_io_capacity             = 2000
innodb_lock_wait_timeout       = 10
skip-log-bin
EOF
}

mariadb_admin() {
  mariadb-admin --no-defaults --socket="$MARIADB_SOCK" -u "$MARIADB_ADMIN_USER" "$@"
}

mariadb_root() {
  mariadb --no-defaults --socket="$MARIADB_SOCK" -u "$MARIADB_ADMIN_USER" --batch \
    --skip-column-names
}

mariadb_ready() { mariadb_admin --connect-timeout=1 ping >/dev/null 2>&1; }

mariadb_install() {
  [[ -d "$MARIADB_DIR/data/mysql" ]] && return 0
  log "mariadb ... initialising $MARIADB_DIR/data"
  if ! mariadb-install-db --defaults-file="$MARIADB_CNF" --user="$MARIADB_ADMIN_USER" --skip-test-db \
    --auth-root-authentication-method=socket >>"$MARIADB_LOG" 2>&1; then
    rm -rf "$MARIADB_DIR/data"
    step_fail mariadb "$MARIADB_LOG" "mariadb-install-db failed"
  fi
}

mariadb_up() {
  step_begin
  if is_running mariadb; then
    mariadb_ready || step_fail mariadb "$MARIADB_LOG" "running but not answering ping"
    step_ready mariadb "already running, pid $(live_pid mariadb)"
    return
  fi
  require_free_port mariadb "$TICKETING_DB_PORT"
  mariadb_render_config
  mariadb_install
  rm -f "$MARIADB_SOCK"
  start_daemon mariadb "$MARIADB_LOG" mariadbd --defaults-file="$MARIADB_CNF" \
    --user="$MARIADB_ADMIN_USER"
  if ! wait_ready mariadb 60 mariadb_ready; then
    step_fail mariadb "$MARIADB_LOG" "no answer to mariadb-admin ping within 60s, or mariadbd exited"
  fi
  step_ready mariadb "pid $(live_pid mariadb), port $TICKETING_DB_PORT"
}

# The application database and its user, from TICKETING_DB_*; safe to repeat.
mariadb_provision() {
  local db="$TICKETING_DB_NAME" user="$TICKETING_DB_USER" pw host
  pw="${TICKETING_DB_PASSWORD//\\/\\\\}"
  pw="${pw//\'/\\\'}"
  {
    echo "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4;"
    for host in 127.0.0.1 localhost; do
      echo "CREATE USER IF NOT EXISTS '$user'@'$host' IDENTIFIED BY '$pw';"
      echo "ALTER USER '$user'@'$host' IDENTIFIED BY '$pw';"
      echo "GRANT ALL PRIVILEGES ON \`$db\`.* TO '$user'@'$host';"
      # Integration tests may create their own <db>_<suffix> databases.
      echo "GRANT ALL PRIVILEGES ON \`${db//_/\\_}\\_%\`.* TO '$user'@'$host';"
    done
  } | mariadb_root || die "mariadb: could not create database $db and user $user"
}

mariadb_stop() {
  is_running mariadb || return 0
  local pid
  pid="$(live_pid mariadb)"
  log "mariadb ... stopping (pid $pid)"
  # SIGTERM is MariaDB's clean shutdown; a large buffer pool may take some seconds.
  stop_process mariadb TERM 60
}

mariadb_state() {
  is_running mariadb || { echo stopped; return; }
  mariadb_ready >/dev/null 2>&1 && echo ready || echo running
}

mariadb_endpoint() { echo "127.0.0.1:$TICKETING_DB_PORT $MARIADB_SOCK"; }
mariadb_logfile() { echo "$MARIADB_LOG"; }

# Applies the schema and, when the database has no users yet, the demo data.
schema_up() {
  step_begin
  local out
  if ! out="$("$REPO_ROOT/scripts/migrate" 2>&1)"; then
    echo "$out" >&2
    step_fail migrate /dev/null "scripts/migrate failed"
  fi
  step_ready migrate "$(tail -n 1 <<<"$out" | sed 's/^\[migrate\] //')"
  local users
  users="$(db_client -e 'SELECT COUNT(*) FROM users' "$TICKETING_DB_NAME" 2>/dev/null || echo 0)"
  if [[ "$users" == 0 ]]; then
    step_begin
    "$REPO_ROOT/scripts/seed" | sed 's/^/  /' || step_fail seed /dev/null "scripts/seed failed"
    step_ready seed "demo data"
  fi
}
