// FastCGI <-> HttpRequest/HttpResponse: the only file that reads FCGX params and streams.
#include "workers/fcgi/fcgi_exchange.hpp"

#include <charconv>
#include <string_view>

#include "core/blocking.hpp"

namespace ticketing {
namespace {

std::string Param(FCGX_Request& request, const char* name) {
  const char* value = FCGX_GetParam(name, request.envp);
  return value != nullptr ? value : "";
}

}  // namespace

HttpRequest ReadRequest(FCGX_Request& fcgi, size_t max_body_bytes) {
  HttpRequest request;
  request.method = Param(fcgi, "REQUEST_METHOD");
  std::string uri = Param(fcgi, "REQUEST_URI");
  const size_t question = uri.find('?');
  if (question != std::string::npos) {
    request.query = uri.substr(question + 1);
    uri.resize(question);
  }
  request.path = std::move(uri);
  request.content_type = Param(fcgi, "CONTENT_TYPE");
  request.authorization = Param(fcgi, "HTTP_AUTHORIZATION");
  request.idempotency_key = Param(fcgi, "HTTP_IDEMPOTENCY_KEY");
  request.queue_token = Param(fcgi, "HTTP_X_QUEUE_TOKEN");
  request.request_id = Param(fcgi, "HTTP_X_REQUEST_ID");
  request.remote_addr = Param(fcgi, "REMOTE_ADDR");

  const std::string length_text = Param(fcgi, "CONTENT_LENGTH");
  size_t length = 0;
  std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
  if (length > max_body_bytes) {
    // Read and drop it: the connection stays in use for the next request (fastcgi_keep_conn).
    request.body_too_large = true;
    char scratch[4096];
    while (FCGX_GetStr(scratch, sizeof scratch, fcgi.in) > 0) {
    }
    return request;
  }
  request.body.resize(length);
  const int got = length > 0 ? FCGX_GetStr(request.body.data(), static_cast<int>(length), fcgi.in)
                             : 0;
  request.body.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return request;
}

namespace {
constexpr size_t kLargeBodyBytes = 256 * 1024;
}  // namespace

void WriteResponse(FCGX_Request& fcgi, const HttpResponse& response) {
  std::string head;
  head.reserve(256);
  head += "Status: ";
  head += std::to_string(response.status);
  head += ' ';
  head += StatusReason(response.status);
  head += "\r\nContent-Type: ";
  head += response.content_type;
  head += "\r\nContent-Length: ";
  const std::string_view body = response.Body();
  head += std::to_string(body.size());
  head += "\r\nCache-Control: no-store\r\n";
  for (const auto& [name, value] : response.headers) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  head += "\r\n";
  // A body larger than the socket buffers (a seat map of megabytes) is written at the pace
  // nginx reads it: the thread's poll slot goes to another thread meanwhile.
  if (body.size() > kLargeBodyBytes) WillBlock();
  FCGX_PutStr(head.data(), static_cast<int>(head.size()), fcgi.out);
  FCGX_PutStr(body.data(), static_cast<int>(body.size()), fcgi.out);
}

}  // namespace ticketing
