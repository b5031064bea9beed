// The worker's view of an HTTP exchange, independent of FastCGI so tests and benchmarks can
// drive the same handlers.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace ticketing {

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
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Json(int status, std::string body);
  static HttpResponse Problem(const ApiError& error);
};

}  // namespace ticketing
