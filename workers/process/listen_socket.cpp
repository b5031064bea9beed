// OpenListenSocket on libfcgi's FCGX_OpenSocket.
#include "workers/process/listen_socket.hpp"

#include <fcgiapp.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ticketing {

ListenSocket OpenListenSocket(const std::string& spec, int backlog) {
  ListenSocket socket;
  std::string address = spec;
  if (spec.rfind("unix:", 0) == 0) {
    socket.unix_path = spec.substr(5);
    address = socket.unix_path;
    unlink(address.c_str());  // a stale socket from a crashed run
  }
  FCGX_Init();
  socket.fd = FCGX_OpenSocket(address.c_str(), backlog);
  if (socket.fd < 0) {
    throw std::runtime_error("cannot listen on " + spec + ": " + std::strerror(errno));
  }
  // nginx's workers run as an unprivileged user and must be able to connect.
  if (!socket.unix_path.empty() && chmod(socket.unix_path.c_str(), 0666) != 0) {
    throw std::runtime_error("chmod " + socket.unix_path + ": " + std::strerror(errno));
  }
  const int flags = fcntl(socket.fd, F_GETFL);
  if (flags < 0 || fcntl(socket.fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw std::runtime_error("fcntl O_NONBLOCK: " + std::string(std::strerror(errno)));
  }
  return socket;
}

}  // namespace ticketing
