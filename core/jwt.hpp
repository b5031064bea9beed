// HS256 bearer tokens: verification for the workers, signing for the admin tool and tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ticketing {

enum class JwtStatus {
  kOk,
  kMalformed,
  kUnsupportedAlgorithm,
  kBadSignature,
  kMissingExpiry,
  kExpired,
  kNotYetValid,
  kBadSubject,
};

struct JwtVerification {
  JwtStatus status = JwtStatus::kMalformed;
  int64_t user_id = 0;
  int64_t expires_at = 0;
};

// Verifies `token` (the part after "Bearer ") against `secret` at unix time `now`.
// Only alg HS256 is accepted; exp is required and must be in the future; sub must be a
// positive decimal user id.
JwtVerification VerifyJwt(std::string_view token, std::string_view secret, int64_t now);

std::string SignJwt(std::string_view secret, int64_t user_id, int64_t expires_at);

// Client-safe reason for a failed verification.
std::string_view JwtStatusText(JwtStatus status);

}  // namespace ticketing
