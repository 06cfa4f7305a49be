#include "plugin/rules/engine/url_policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace shadow::rules {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

bool parse_port(std::string_view text, int* port) {
  if (text.empty() || text.size() > 5) return false;
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535) return false;
  *port = value;
  return true;
}

// "host[:port]" or "[v6][:port]" into host (lower case, no brackets) and port.
bool parse_authority(std::string_view authority, int default_port, std::string* host, int* port,
                     std::string* why) {
  std::string_view host_part = authority;
  std::string_view port_part;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      *why = "the IPv6 address has no closing ']'";
      return false;
    }
    host_part = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        *why = "unexpected characters after the IPv6 address";
        return false;
      }
      port_part = rest.substr(1);
      if (port_part.empty()) {
        *why = "the port is empty";
        return false;
      }
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host_part = authority.substr(0, colon);
    port_part = authority.substr(colon + 1);
    if (port_part.empty()) {
      *why = "the port is empty";
      return false;
    }
  }
  if (host_part.empty()) {
    *why = "the host is empty";
    return false;
  }
  for (char c : host_part) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == ':';
    if (!ok) {
      *why = "the host contains '" + std::string(1, c) + "'";
      return false;
    }
  }
  *port = default_port;
  if (!port_part.empty() && !parse_port(port_part, port)) {
    *why = "the port '" + std::string(port_part) + "' is not a number from 1 to 65535";
    return false;
  }
  *host = lower(host_part);
  return true;
}

std::string host_port(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

std::string UrlTarget::origin() const { return (https ? "https://" : "http://") + host_port(host, port); }

std::optional<UrlTarget> parse_url(std::string_view url, std::string* why) {
  UrlTarget t;
  std::string_view rest;
  if (starts_with_ci(url, "https://")) {
    t.https = true;
    rest = url.substr(8);
  } else if (starts_with_ci(url, "http://")) {
    rest = url.substr(7);
  } else {
    *why = "the URL must start with https:// or http://";
    return std::nullopt;
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 127) {
      *why = "the URL contains a space or a control character";
      return std::nullopt;
    }
  }
  if (url.find('#') != std::string_view::npos) {
    *why = "the URL contains a fragment ('#')";
    return std::nullopt;
  }
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) {
    *why = "the URL contains user information ('@'); pass credentials in a header";
    return std::nullopt;
  }
  if (!parse_authority(authority, t.https ? 443 : 80, &t.host, &t.port, why)) return std::nullopt;
  t.path_and_query = end == std::string_view::npos ? "/" : std::string(rest.substr(end));
  if (t.path_and_query.front() == '?') t.path_and_query.insert(0, "/");
  return t;
}

StatusOr<UrlPolicy> UrlPolicy::parse(std::string_view allow) {
  UrlPolicy policy;
  size_t start = 0;
  while (start < allow.size()) {
    size_t comma = allow.find(',', start);
    if (comma == std::string_view::npos) comma = allow.size();
    std::string_view item = allow.substr(start, comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    std::string host, why;
    int port = 0;
    bool has_port = !item.empty() && (item.back() != ']') &&
                    item.rfind(':') != std::string_view::npos &&
                    (item.front() != '[' || item.rfind(']') < item.rfind(':'));
    if (item.empty() || !has_port || !parse_authority(item, 0, &host, &port, &why)) {
      return Status::invalid_argument("'" + std::string(item) +
                                      "' is not host:port (e.g. 127.0.0.1:8080, hooks.lan:80, [::1]:8080)" +
                                      (why.empty() ? "" : ": " + why));
    }
    policy.allowed_.push_back(host_port(host, port));
    start = comma + 1;
  }
  return policy;
}

bool UrlPolicy::allows_http(const UrlTarget& target) const {
  std::string key = host_port(target.host, target.port);
  return std::find(allowed_.begin(), allowed_.end(), key) != allowed_.end();
}

std::optional<UrlTarget> UrlPolicy::check(std::string_view url, std::string* why) const {
  std::optional<UrlTarget> target = parse_url(url, why);
  if (!target) return std::nullopt;
  if (!target->https && !allows_http(*target)) {
    *why = "http:// to " + host_port(target->host, target->port) +
           " is not allowed: use https://, or add the host:port to plugin_opt_rules_http_allow";
    return std::nullopt;
  }
  return target;
}

std::string UrlPolicy::check_template(std::string_view url_template) const {
  std::string why;
  size_t substitution = url_template.find("${");
  if (substitution == std::string_view::npos) {
    if (!check(url_template, &why)) return why;
    return {};
  }
  std::string_view fixed = url_template.substr(0, substitution);
  if (!starts_with_ci(fixed, "http://") && !starts_with_ci(fixed, "https://")) return {};
  std::string_view rest = fixed.substr(fixed.find("//") + 2);
  // The host and port are known only when the fixed part goes beyond them.
  if (rest.find_first_of("/?") == std::string_view::npos) return {};
  if (!check(fixed, &why)) return why;
  return {};
}

}  // namespace shadow::rules
