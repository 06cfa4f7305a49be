#include "plugin/rest/head_checks.h"

#include <strings.h>

#include <charconv>
#include <cstdint>

namespace shadow::rest {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

int refuse_from_head(const HeaderList& headers, size_t max_body_bytes) {
  std::vector<std::string_view> lengths, codings;
  for (const auto& [name, value] : headers) {
    if (iequals(name, "Content-Length")) lengths.push_back(trim(value));
    if (iequals(name, "Transfer-Encoding")) codings.push_back(trim(value));
  }
  if (!codings.empty()) {
    if (!lengths.empty() || codings.size() > 1 || !iequals(codings.front(), "chunked")) return 400;
    return 0;
  }
  uint64_t length = 0;
  bool too_large = false;
  for (std::string_view v : lengths) {
    if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos) return 400;
    if (v != lengths.front()) return 400;  // conflicting lengths
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), length);
    if (ec == std::errc::result_out_of_range) too_large = true;  // all digits: just huge
    else if (ec != std::errc() || end != v.data() + v.size()) return 400;
  }
  return too_large || length > max_body_bytes ? 413 : 0;
}

bool expects_continue(const HeaderList& headers) {
  for (const auto& [name, value] : headers)
    if (iequals(name, "Expect") && iequals(trim(value), "100-continue")) return true;
  return false;
}

}  // namespace shadow::rest
