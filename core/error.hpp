// The one error type of the API and its one mapping to HTTP status and problem+json.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace ticketing {

enum class ErrorCode {
  kBadRequest,
  kUnauthorized,
  kPaymentRequired,
  kForbidden,
  kNotFound,
  kMethodNotAllowed,
  kConflict,
  kPayloadTooLarge,
  kUnsupportedMediaType,
  kIdempotencyMismatch,
  kTooManyRequests,
  kInternal,
  kServiceUnavailable,
};

// Thrown by handlers and services. `detail` is shown to the client, so it never carries
// driver text, SQL or internal state; what operators need goes to the log instead.
class ApiError : public std::runtime_error {
 public:
  ApiError(ErrorCode code, std::string detail);

  ErrorCode code() const { return code_; }
  const std::string& detail() const { return detail_; }
  // For 405 (the Allow header) and 429/503 (Retry-After seconds).
  std::string allow;
  int retry_after_seconds = 0;

 private:
  ErrorCode code_;
  std::string detail_;
};

int HttpStatus(ErrorCode code);
std::string_view StatusReason(int status);
// Maps a status produced elsewhere (a stored procedure's outcome) back to the error code.
ErrorCode ErrorCodeForStatus(int status);
// RFC 9457 body: {"type","title","status","detail"}.
std::string ProblemJson(ErrorCode code, std::string_view detail);

}  // namespace ticketing
