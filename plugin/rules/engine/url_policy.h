// Which URLs an http action may request. Rules can be created over the
// REST API, so a rule must not become a way to reach any service the broker
// can reach: https:// URLs are allowed (the server's certificate is
// verified), http:// only to the host:port pairs an operator lists
// (plugin_opt_rules_http_allow). Everything else is refused: other
// schemes, malformed URLs, credentials in the URL.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shadow::rules {

// The parts of an http(s) URL that decide where a request goes.
struct UrlTarget {
  bool https = false;
  std::string host;  // lower case; an IPv6 address without brackets
  int port = 0;      // the explicit port, or 80 / 443
  std::string path_and_query;  // from the first '/' or '?' on; "/" when absent
  // "https://host:port" with brackets around an IPv6 host.
  std::string origin() const;
};

// Parses "http(s)://host[:port][/path][?query]" (scheme in any case). No
// user information, no fragment, no spaces or control characters.
std::optional<UrlTarget> parse_url(std::string_view url, std::string* why);

class UrlPolicy {
 public:
  // `allow` is plugin_opt_rules_http_allow: "host:port,host:port" ("[::1]:8080"
  // for IPv6); empty allows no http:// URL.
  static StatusOr<UrlPolicy> parse(std::string_view allow);

  UrlPolicy() = default;

  // The target of `url`, or nullopt with the reason in *why.
  std::optional<UrlTarget> check(std::string_view url, std::string* why) const;

  // An action's url as written, substitution templates included: the
  // reason it can never be allowed, or empty when it is (or may be, once
  // rendered: a template in the scheme or host is checked per message).
  // Used when a rule is created, to refuse what would always fail.
  std::string check_template(std::string_view url_template) const;

  const std::vector<std::string>& allowed() const { return allowed_; }

 private:
  bool allows_http(const UrlTarget& target) const;
  std::vector<std::string> allowed_;  // "host:port", host lower case, IPv6 in brackets
};

}  // namespace shadow::rules
