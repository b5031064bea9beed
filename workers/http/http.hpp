// The worker's view of an HTTP exchange, independent of FastCGI so tests and benchmarks can
// drive the same handlers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace ticketing {

struct AwaitRedis;  // workers/app.hpp

struct HttpRequest {
  std::string method;
  std::string path;  // without the query string
  std::string query;
  std::string content_type;
  std::string authorization;
  std::string idempotency_key;
  std::string queue_token;
  std::string request_id;
  std::string remote_addr;
  std::string body;
  // Set when the body was longer than the limit and therefore not read.
  bool body_too_large = false;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // A body shared with a cache (a rendered seat map of megabytes): written from there, never
  // copied per request. When set, `body` is unused.
  std::shared_ptr<const std::string> shared_body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set instead of the rest when the answer waits on one Redis command (AwaitRedis).
  std::shared_ptr<AwaitRedis> await_redis;

  std::string_view Body() const { return shared_body ? std::string_view(*shared_body) : body; }

  static HttpResponse Json(int status, std::string body);
  static HttpResponse Json(int status, std::shared_ptr<const std::string> body);
  static HttpResponse Problem(const ApiError& error);
};

}  // namespace ticketing
