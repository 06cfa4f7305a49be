#include "plugin/rules/sql/encoding.h"

#include <cstdint>

#include "shadow_core/json.h"

namespace shadow::rules::sql {

namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Length of the UTF-8 sequence starting at text[i]; 1 for anything malformed.
size_t sequence_length(std::string_view text, size_t i) {
  auto c = static_cast<unsigned char>(text[i]);
  size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
  if (i + len > text.size()) return 1;
  for (size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 1;
  return len;
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

size_t count_chars(std::string_view text) {
  size_t n = 0;
  for (size_t i = 0; i < text.size(); i += sequence_length(text, i)) ++n;
  return n;
}

size_t char_offset(std::string_view text, size_t index) {
  size_t i = 0;
  for (size_t n = 0; n < index && i < text.size(); ++n) i += sequence_length(text, i);
  return i;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                 static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view text, std::string* out) {
  out->clear();
  if (text.size() % 4 != 0) return false;
  out->reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int a = sextet(text[i]), b = sextet(text[i + 1]);
    if (a < 0 || b < 0) return false;
    uint32_t v = (a << 18) | (b << 12);
    size_t bytes = 3;
    if (last && text[i + 2] == '=' && text[i + 3] == '=') {
      bytes = 1;
    } else if (last && text[i + 3] == '=') {
      int c = sextet(text[i + 2]);
      if (c < 0) return false;
      v |= c << 6;
      bytes = 2;
    } else {
      int c = sextet(text[i + 2]), d = sextet(text[i + 3]);
      if (c < 0 || d < 0) return false;
      v |= (c << 6) | d;
    }
    out->push_back(static_cast<char>(v >> 16));
    if (bytes > 1) out->push_back(static_cast<char>((v >> 8) & 0xFF));
    if (bytes > 2) out->push_back(static_cast<char>(v & 0xFF));
  }
  return true;
}

std::string replace_invalid_utf8(std::string_view bytes) {
  std::string out;
  for (;;) {
    size_t bad = json::invalid_utf8_at(bytes);
    if (bad == std::string_view::npos) break;
    out.append(bytes.substr(0, bad));
    out.append("\xEF\xBF\xBD");
    bytes.remove_prefix(bad + 1);
  }
  out.append(bytes);
  return out;
}

}  // namespace shadow::rules::sql
