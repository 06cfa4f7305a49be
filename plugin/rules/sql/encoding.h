// Text helpers of the SQL functions: case-insensitive comparison, UTF-8
// character counting and slicing, base64. Strings may hold any bytes (a
// payload is not checked for valid UTF-8): these never read out of bounds
// and treat a malformed sequence as one character per byte.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace shadow::rules::sql {

// ASCII case-insensitive equality (SQL keywords, function and type names).
bool equals_ignore_case(std::string_view a, std::string_view b);

// Number of characters (Unicode code points) in `text`.
size_t count_chars(std::string_view text);

// Byte offset of character number `index` (0-based); text.size() if the
// text has fewer characters.
size_t char_offset(std::string_view text, size_t index);

// `bytes` with every byte that does not start a valid UTF-8 sequence
// replaced by U+FFFD.
std::string replace_invalid_utf8(std::string_view bytes);

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);
// Decodes standard base64; false if `text` is not valid base64.
bool base64_decode(std::string_view text, std::string* out);

}  // namespace shadow::rules::sql
