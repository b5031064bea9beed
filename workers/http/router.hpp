// Method + path-pattern routing with numeric path parameters ("/api/concerts/{concertId}").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "workers/http/http.hpp"

namespace ticketing {

struct RequestContext;

// Path parameters in pattern order, validated as positive 64-bit integers.
using PathParams = std::vector<int64_t>;
using Handler = std::function<HttpResponse(const HttpRequest&, const PathParams&, RequestContext&)>;

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed } kind = Kind::kNotFound;
  size_t route = 0;         // index into Router::names(), for metrics and logs
  const Handler* handler = nullptr;
  PathParams params;
  std::string allow;        // for kMethodNotAllowed, e.g. "GET, POST"
};

class Router {
 public:
  // `name` labels the route in metrics and logs. Patterns are literal segments and
  // {param} segments; a {param} only matches a positive decimal integer that fits int64,
  // anything else in its place is a 400 (see Match).
  void Add(std::string method, std::string_view pattern, std::string name, Handler handler);

  // Throws ApiError(kBadRequest) when a route's shape matches but a {param} is not a valid id.
  RouteMatch Match(std::string_view method, std::string_view path) const;

  std::vector<std::string_view> names() const;
  // Index reserved for requests that matched no route (metrics label "unmatched").
  size_t unmatched_index() const { return routes_.size(); }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{}" marks a parameter
    std::vector<std::string> param_names;
    std::string name;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Splits "/a/b/c" into {"a","b","c"}; an empty path or a trailing slash yields no empty tail.
std::vector<std::string_view> SplitPath(std::string_view path);

}  // namespace ticketing
