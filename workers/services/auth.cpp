// Authenticator: JWT verification against the process's secret and the current time.
#include "workers/services/auth.hpp"

#include <ctime>

#include "core/jwt.hpp"

namespace ticketing {

int64_t Authenticator::RequireUser(const HttpRequest& request) const {
  constexpr std::string_view kScheme = "Bearer ";
  const std::string_view header = request.authorization;
  if (header.empty()) {
    throw ApiError(ErrorCode::kUnauthorized, "an Authorization: Bearer token is required");
  }
  if (header.size() <= kScheme.size() || header.substr(0, kScheme.size()) != kScheme) {
    throw ApiError(ErrorCode::kUnauthorized, "the Authorization header must use the Bearer scheme");
  }
  const JwtVerification verified =
      VerifyJwt(header.substr(kScheme.size()), secret_, static_cast<int64_t>(std::time(nullptr)));
  if (verified.status != JwtStatus::kOk) {
    throw ApiError(ErrorCode::kUnauthorized, std::string(JwtStatusText(verified.status)));
  }
  return verified.user_id;
}

int64_t Authenticator::RequireOwner(const HttpRequest& request, int64_t owner) const {
  const int64_t user_id = RequireUser(request);
  if (user_id != owner) {
    throw ApiError(ErrorCode::kForbidden, "this resource belongs to another user");
  }
  return user_id;
}

}  // namespace ticketing
