// Converts one libfcgi request into an HttpRequest and writes the HttpResponse back.
#pragma once

#include <fcgiapp.h>

#include "workers/http/http.hpp"

namespace ticketing {

// Reads the parameters nginx passes (fastcgi_params) and up to `max_body_bytes` of body.
HttpRequest ReadRequest(FCGX_Request& request, size_t max_body_bytes);
void WriteResponse(FCGX_Request& request, const HttpResponse& response);

}  // namespace ticketing
