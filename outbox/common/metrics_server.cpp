// MetricsServer on plain blocking sockets: one short request at a time is all Prometheus needs.
#include "outbox/common/metrics_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.hpp"

namespace ticketing {
namespace {

constexpr int kPollMs = 200;  // how quickly Stop() is noticed

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the scraper went away; nothing to recover
    done += static_cast<size_t>(n);
  }
}

std::string Response(const char* status, const char* type, const std::string& body) {
  return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

}  // namespace

bool MetricsServer::Start(int port, Render render) {
  if (port == 0) return false;
  render_ = std::move(render);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    Log(LogLevel::kError, "metrics socket() failed").Errno(errno);
    return false;
  }
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    Log(LogLevel::kError, "metrics endpoint disabled: cannot listen").Int("port", port).Errno(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  Log(LogLevel::kInfo, "metrics endpoint listening").Str("address", "127.0.0.1").Int("port", port);
  thread_ = std::thread([this] { Serve(); });
  return true;
}

void MetricsServer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void MetricsServer::Serve() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, kPollMs) <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval timeout{1, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    Answer(client);
    ::close(client);
  }
}

void MetricsServer::Answer(int client) {
  char request[2048];
  const ssize_t n = ::recv(client, request, sizeof(request) - 1, 0);
  if (n <= 0) return;
  request[n] = '\0';
  if (std::strncmp(request, "GET /metrics ", 13) == 0 ||
      std::strncmp(request, "GET /metrics?", 13) == 0) {
    WriteAll(client, Response("200 OK", "text/plain; version=0.0.4", render_()));
  } else if (std::strncmp(request, "GET ", 4) != 0) {
    WriteAll(client, Response("405 Method Not Allowed", "text/plain", "GET only\n"));
  } else {
    WriteAll(client, Response("404 Not Found", "text/plain", "GET /metrics only\n"));
  }
}

}  // namespace ticketing
