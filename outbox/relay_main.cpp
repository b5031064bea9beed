// ticketing-relay: publishes the outbox table to Kafka (see outbox/README.md).
#include <cstdio>

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/mysql_session.hpp"
#include "outbox/common/metrics_server.hpp"
#include "outbox/relay/kafka_publisher.hpp"
#include "outbox/relay/relay.hpp"
#include "workers/process/signals.hpp"

int main(int argc, char** argv) {
  using namespace ticketing;
  Config config;
  if (const int code = LoadConfigForMain(argc, argv, "ticketing-relay", config); code != 0) return code;
  InitLog(ParseLogLevel(config.log_level), "relay");
  InstallStopHandlers();
  try {
    RelayMetrics metrics;
    MySqlSession session(config, nullptr);
    KafkaPublisher publisher(config);
    MetricsServer server;
    server.Start(config.relay_metrics_port, [&metrics] { return metrics.Render(); });
    Log(LogLevel::kInfo, "relay starting")
        .Str("brokers", config.kafka_brokers)
        .Str("topic", config.kafka_topic)
        .Int("batch_size", config.relay_batch_size);
    Relay(config, session, publisher, metrics).Run(g_stop_requested);
  } catch (const KafkaSetupError& e) {
    Log(LogLevel::kError, "relay cannot start").Str("detail", e.what());
    return 1;
  }
  return 0;
}
