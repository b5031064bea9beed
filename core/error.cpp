// Status, title and type URI of every ErrorCode, and the problem+json renderer.
#include "core/error.hpp"

#include "core/log.hpp"

namespace ticketing {
namespace {

struct ErrorInfo {
  ErrorCode code;
  int status;
  const char* slug;
  const char* title;
};

constexpr ErrorInfo kErrors[] = {
    {ErrorCode::kBadRequest, 400, "bad-request", "Bad Request"},
    {ErrorCode::kUnauthorized, 401, "unauthorized", "Unauthorized"},
    {ErrorCode::kPaymentRequired, 402, "insufficient-balance", "Insufficient Balance"},
    {ErrorCode::kForbidden, 403, "forbidden", "Forbidden"},
    {ErrorCode::kNotFound, 404, "not-found", "Not Found"},
    {ErrorCode::kMethodNotAllowed, 405, "method-not-allowed", "Method Not Allowed"},
    {ErrorCode::kConflict, 409, "conflict", "Conflict"},
    {ErrorCode::kPayloadTooLarge, 413, "payload-too-large", "Payload Too Large"},
    {ErrorCode::kUnsupportedMediaType, 415, "unsupported-media-type", "Unsupported Media Type"},
    {ErrorCode::kIdempotencyMismatch, 422, "idempotency-key-reused",
     "Idempotency-Key Reused With Another Request"},
    {ErrorCode::kTooManyRequests, 429, "too-many-requests", "Too Many Requests"},
    {ErrorCode::kInternal, 500, "internal", "Internal Server Error"},
    {ErrorCode::kServiceUnavailable, 503, "service-unavailable", "Service Unavailable"},
};

const ErrorInfo& Info(ErrorCode code) {
  for (const auto& info : kErrors) {
    if (info.code == code) return info;
  }
  return kErrors[11];  // kInternal
}

}  // namespace

ApiError::ApiError(ErrorCode code, std::string detail)
    : std::runtime_error(detail), code_(code), detail_(std::move(detail)) {}

int HttpStatus(ErrorCode code) { return Info(code).status; }

ErrorCode ErrorCodeForStatus(int status) {
  for (const auto& info : kErrors) {
    if (info.status == status) return info.code;
  }
  return ErrorCode::kInternal;
}

std::string_view StatusReason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string ProblemJson(ErrorCode code, std::string_view detail) {
  const ErrorInfo& info = Info(code);
  std::string body;
  body.reserve(160 + detail.size());
  body += "{\"type\":\"/problems/";
  body += info.slug;
  body += "\",\"title\":\"";
  body += info.title;
  body += "\",\"status\":";
  body += std::to_string(info.status);
  body += ",\"detail\":\"";
  AppendJsonEscaped(body, detail);
  body += "\"}";
  return body;
}

}  // namespace ticketing
