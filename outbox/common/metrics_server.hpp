// A tiny Prometheus endpoint: GET /metrics on 127.0.0.1:<port>, served by one thread.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace ticketing {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  MetricsServer() = default;
  ~MetricsServer() { Stop(); }
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds 127.0.0.1:port and starts serving; false (logged) when the port cannot be bound,
  // in which case the process runs on without its endpoint.
  bool Start(int port, Render render);
  void Stop();

 private:
  void Serve();
  void Answer(int client);

  int listen_fd_ = -1;
  Render render_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace ticketing
