// Decisions the HTTP server takes from a request head alone, before any body
// byte is read: whether the body's framing is unambiguous and within the
// size limit, and whether the client waits for "100 Continue". Pure C++ (the server feeds it the
// fields its HTTP parser collected), so the unit tests cover it without
// sockets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shadow::rest {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The status refusing a request from its head, or 0 to go on:
//  - 400 when the framing is ambiguous or unsupported: a Content-Length that
//    is not plain digits, several different ones, Content-Length together
//    with Transfer-Encoding, or a Transfer-Encoding other than one
//    "chunked" (we decode no other coding, so its bytes would be read as
//    the next request);
//  - 413 when Content-Length is above `max_body_bytes` (also when it is too
//    large for any integer).
// A chunked body is capped while it is read.
int refuse_from_head(const HeaderList& headers, size_t max_body_bytes);

// True when the request asks for "100 Continue" before sending its body.
bool expects_continue(const HeaderList& headers);

}  // namespace shadow::rest
