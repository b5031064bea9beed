// Response constructors; problem+json comes from the one mapping in core/error.
#include "workers/http/http.hpp"

namespace ticketing {

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse HttpResponse::Json(int status, std::shared_ptr<const std::string> body) {
  HttpResponse response;
  response.status = status;
  response.shared_body = std::move(body);
  return response;
}

HttpResponse HttpResponse::Problem(const ApiError& error) {
  HttpResponse response;
  response.status = HttpStatus(error.code());
  response.content_type = "application/problem+json";
  response.body = ProblemJson(error.code(), error.detail());
  if (!error.allow.empty()) response.headers.emplace_back("Allow", error.allow);
  if (error.retry_after_seconds > 0) {
    response.headers.emplace_back("Retry-After", std::to_string(error.retry_after_seconds));
  }
  return response;
}

}  // namespace ticketing
