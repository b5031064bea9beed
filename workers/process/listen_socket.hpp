// The FastCGI listening socket the master opens and every child accepts on.
#pragma once

#include <string>

namespace ticketing {

struct ListenSocket {
  int fd = -1;
  std::string unix_path;  // empty for TCP
};

// `spec`: "unix:/path" or "host:port" / ":port". Non-blocking, so children that lose the race
// for a connection get EAGAIN instead of sleeping in accept(). Throws on failure.
ListenSocket OpenListenSocket(const std::string& spec, int backlog);

}  // namespace ticketing
