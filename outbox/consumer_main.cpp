// ticketing-consumer: applies payment-events to the sales and wallet-activity projections.
#include <cstdio>

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/mysql_session.hpp"
#include "outbox/common/metrics_server.hpp"
#include "outbox/consumer/event_consumer.hpp"
#include "outbox/relay/kafka_publisher.hpp"
#include "workers/process/signals.hpp"

int main(int argc, char** argv) {
  using namespace ticketing;
  Config config;
  if (const int code = LoadConfigForMain(argc, argv, "ticketing-consumer", config); code != 0) return code;
  InitLog(ParseLogLevel(config.log_level), "consumer");
  InstallStopHandlers();
  try {
    ConsumerMetrics metrics;
    MySqlSession session(config, nullptr);
    ProjectionRepository repository(session);
    EventConsumer consumer(config, repository, metrics);
    MetricsServer server;
    server.Start(config.consumer_metrics_port, [&metrics] { return metrics.Render(); });
    Log(LogLevel::kInfo, "consumer starting")
        .Str("brokers", config.kafka_brokers)
        .Str("topic", config.kafka_topic)
        .Str("group", config.consumer_group);
    consumer.Run(g_stop_requested);
  } catch (const KafkaSetupError& e) {
    Log(LogLevel::kError, "consumer cannot start").Str("detail", e.what());
    return 1;
  }
  return 0;
}
