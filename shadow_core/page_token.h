// The opaque nextToken of paged lists (ListNamedShadowsForThing, our
// ListShadows, fleet search): base64url without padding of the position
// where the next page starts.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shadow {

std::string encode_page_token(std::string_view raw);
// nullopt when `token` is not base64url.
std::optional<std::string> decode_page_token(std::string_view token);

}  // namespace shadow
