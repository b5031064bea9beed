// ticketing-admin: operator commands. `token <userId> [ttlSeconds]` prints a bearer JWT signed
// with TICKETING_JWT_SECRET; `tokens <from> <to> [ttlSeconds]` prints one per line.
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string_view>

#include "core/jwt.hpp"

namespace {

bool ParsePositive(const char* text, long long& out) {
  const std::string_view s(text);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out > 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: ticketing-admin token <userId> [ttlSeconds]\n"
               "       ticketing-admin tokens <fromUserId> <toUserId> [ttlSeconds]\n"
               "TICKETING_JWT_SECRET must be set (at least 16 bytes).\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const char* secret = std::getenv("TICKETING_JWT_SECRET");
  if (argc < 3 || secret == nullptr || std::string_view(secret).size() < 16) return Usage();
  const std::string_view command = argv[1];
  long long from = 0, to = 0, ttl = 3600;
  if (command == "token" && ParsePositive(argv[2], from) &&
      (argc < 4 || ParsePositive(argv[3], ttl))) {
    to = from;
  } else if (command == "tokens" && argc >= 4 && ParsePositive(argv[2], from) &&
             ParsePositive(argv[3], to) && to >= from &&
             (argc < 5 || ParsePositive(argv[4], ttl))) {
  } else {
    return Usage();
  }
  const long long expires = static_cast<long long>(std::time(nullptr)) + ttl;
  for (long long user = from; user <= to; ++user) {
    std::printf("%s\n", ticketing::SignJwt(secret, user, expires).c_str());
  }
  return 0;
}
