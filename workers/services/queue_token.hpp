// Waiting-room tokens: opaque to clients, HMAC-signed, bound to a user, a concert and one
// queue entry; an admitted user's token also carries when its ACTIVE session ends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ticketing {

struct QueueClaims {
  int64_t concert_id = 0;
  int64_t user_id = 0;
  int64_t entry = 0;            // the entry's number in the concert's queue
  int64_t active_until_ms = 0;  // 0 while WAITING
};

class QueueTokenCodec {
 public:
  // The signing key is derived from `secret`, so a queue token is never a valid JWT signature.
  explicit QueueTokenCodec(std::string_view secret);
  std::string Issue(const QueueClaims& claims) const;
  // nullopt unless the token is well formed and its signature verifies.
  std::optional<QueueClaims> Verify(std::string_view token) const;

 private:
  std::string key_;
};

}  // namespace ticketing
