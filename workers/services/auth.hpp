// Bearer-token authentication and the waiting-room gate, as the handlers see them.
#pragma once

#include <cstdint>
#include <string>

#include "workers/http/http.hpp"

namespace ticketing {

class Authenticator {
 public:
  explicit Authenticator(std::string secret) : secret_(std::move(secret)) {}
  // The user id of a valid "Authorization: Bearer <JWT>"; ApiError(kUnauthorized) otherwise.
  int64_t RequireUser(const HttpRequest& request) const;
  // RequireUser, plus ApiError(kForbidden) unless it is `owner`.
  int64_t RequireOwner(const HttpRequest& request, int64_t owner) const;

 private:
  std::string secret_;
};

// The waiting-room check in front of seat holds (QueueService implements it).
class AdmissionGate {
 public:
  virtual ~AdmissionGate() = default;
  // Throws ApiError(kForbidden) when `user_id` may not act on `concert_id` now.
  virtual void RequireActive(const HttpRequest& request, int64_t user_id, int64_t concert_id) = 0;
};

}  // namespace ticketing
