# shellcheck shell=bash
# Single-node KRaft Kafka (broker and controller in one JVM) from the jars scripts/bootstrap
# cached, plus the payment-events topic.

KAFKA_DIR="$STACK/kafka"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_LOG4J="$KAFKA_DIR/log4j2.properties"
KAFKA_LOG="$LOGS/kafka.log"

kafka_render_config() {
  mkdir -p "$KAFKA_DIR/data" "$RUN" "$LOGS"
  cat >"$KAFKA_PROPS" <<EOF
# Rendered by scripts/stack; edits are overwritten on the next up.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$TICKETING_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$TICKETING_KAFKA_PORT,CONTROLLER://127.0.0.1:$TICKETING_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$TICKETING_KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=$TICKETING_KAFKA_PARTITIONS
default.replication.factor=1
min.insync.replicas=1
# One node: every internal topic has a single replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=8388608
log.retention.hours=48
num.network.threads=2
num.io.threads=4
EOF
  cat >"$KAFKA_LOG4J" <<'EOF'
# Rendered by scripts/stack: everything to stdout, which the stack sends to logs/kafka.log.
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
}

KAFKA_JVM_OPTS=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -Djava.awt.headless=true "-Dlog4j2.configurationFile=$KAFKA_LOG4J")

# Tools only need a client: a smaller heap and the C1 compiler start them faster.
kafka_tool() { # main-class args...
  java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -cp "$KAFKA_LIBS/*" "$@"
}

# A KRaft cluster id is 16 random bytes in URL-safe base64 without padding; Kafka never
# hands out one that starts with '-' (it would read as a command-line flag).
kafka_cluster_id() {
  local id
  while id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"; do
    [[ "$id" != -* ]] && break
  done
  echo "$id"
}

kafka_format() {
  [[ -f "$KAFKA_DIR/data/meta.properties" ]] && return 0
  local id
  id="$(kafka_cluster_id)"
  log "kafka ... formatting $KAFKA_DIR/data (cluster $id)"
  kafka_tool kafka.tools.StorageTool format -t "$id" -c "$KAFKA_PROPS" >>"$KAFKA_LOG" 2>&1 \
    || step_fail kafka "$KAFKA_LOG" "kafka.tools.StorageTool format failed"
}

kafka_metadata() { kcat -L -b "127.0.0.1:$TICKETING_KAFKA_PORT" -m 2 2>/dev/null; }
kafka_ready() { kafka_metadata | grep -q '1 brokers:'; }

kafka_ensure_jars() {
  [[ -f "$KAFKA_HOME/.complete" ]] || "$REPO_ROOT/scripts/bootstrap"
}

kafka_up() {
  step_begin
  if is_running kafka; then
    wait_until 60 kafka_ready || step_fail kafka "$KAFKA_LOG" "running but kcat -L gets no metadata"
    step_ready kafka "already running, pid $(live_pid kafka)"
  else
    require_free_port kafka "$TICKETING_KAFKA_PORT"
    require_free_port kafka-controller "$TICKETING_KAFKA_CONTROLLER_PORT"
    kafka_ensure_jars
    kafka_render_config
    kafka_format
    start_daemon kafka "$KAFKA_LOG" java "${KAFKA_JVM_OPTS[@]}" -cp "$KAFKA_LIBS/*" \
      kafka.Kafka "$KAFKA_PROPS"
    wait_ready kafka 90 kafka_ready \
      || step_fail kafka "$KAFKA_LOG" "no metadata from kcat -L within 90s, or the broker exited"
    step_ready kafka "pid $(live_pid kafka), port $TICKETING_KAFKA_PORT"
  fi
  kafka_topic_up
}

kafka_topic_partitions() { # topic -> partition count, or nothing
  kafka_metadata | sed -n "s/^  topic \"$1\" with \([0-9]*\) partitions:.*/\1/p"
}

kafka_topic_exists() { [[ -n "$(kafka_topic_partitions "$1")" ]]; }

kafka_topic_up() {
  local topic="$TICKETING_KAFKA_TOPIC" want="$TICKETING_KAFKA_PARTITIONS" have
  step_begin
  have="$(kafka_topic_partitions "$topic")"
  if [[ -z "$have" ]]; then
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server \
      "127.0.0.1:$TICKETING_KAFKA_PORT" --create --if-not-exists --topic "$topic" \
      --partitions "$want" --replication-factor 1 >>"$KAFKA_LOG" 2>&1 \
      || step_fail topic "$KAFKA_LOG" "TopicCommand --create $topic failed"
    wait_until 30 kafka_topic_exists "$topic" || true
    have="$(kafka_topic_partitions "$topic")"
    [[ "$have" == "$want" ]] || step_fail topic "$KAFKA_LOG" "$topic has '$have' partitions"
    step_ready "topic $topic" "created, $have partitions"
  else
    ((have >= want)) || warn "topic $topic has $have partitions, fewer than $want"
    step_ready "topic $topic" "$have partitions"
  fi
}

kafka_stop() {
  is_running kafka || return 0
  log "kafka ... stopping (pid $(live_pid kafka))"
  # SIGTERM runs the broker's controlled shutdown; the log is flushed before exit.
  stop_process kafka TERM 60
}

kafka_state() {
  is_running kafka || { echo stopped; return; }
  kafka_ready && echo ready || echo running
}

kafka_endpoint() {
  echo "127.0.0.1:$TICKETING_KAFKA_PORT (controller :$TICKETING_KAFKA_CONTROLLER_PORT)"
}
kafka_logfile() { echo "$KAFKA_LOG"; }
