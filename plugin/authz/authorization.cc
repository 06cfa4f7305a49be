#include "plugin/authz/authorization.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace shadow::plugin {
namespace {

constexpr std::string_view kReservedLast[] = {"accepted", "rejected", "delta", "documents"};

std::vector<std::string_view> split_levels(std::string_view s) {
  std::vector<std::string_view> levels;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      levels.push_back(s.substr(start));
      return levels;
    }
    levels.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

bool is_wild(std::string_view level) { return level == "+" || level == "#"; }

// Which thing names a filter level must (or must not) be: the principal's
// own thing, or any thing other than it.
struct ThingPredicate {
  std::optional<std::string_view> own;  // nullopt: the principal owns nothing
  bool want_own;                         // true: X == own; false: X != own
  // Some single topic level satisfies the predicate and matches `level`
  // ('+' or a literal; '#' is handled by the callers).
  bool satisfiable_by(std::string_view level) const {
    if (want_own) return own.has_value() && (level == "+" || level == *own);
    if (level == "+") return true;  // some other name always exists
    return !own.has_value() || level != *own;
  }
};

// Can filter `f` match a topic $aws/things/X/shadow[/...] with X per `pred`?
bool intersects_aws(const std::vector<std::string_view>& f, const ThingPredicate& pred) {
  if (f[0] != "$aws") return false;  // wildcards at the first level never match '$' topics
  const std::string_view required[] = {"$aws", "things", "", "shadow"};
  for (size_t i = 1; i < 4; i++) {
    if (i >= f.size()) return false;  // the filter's topics are too short
    if (f[i] == "#") return i != 2 || pred.satisfiable_by("+");
    if (i == 2) {
      if (!pred.satisfiable_by(f[i])) return false;
    } else if (f[i] != "+" && f[i] != required[i]) {
      return false;
    }
  }
  return true;  // deeper levels are free
}

// Can filter `f` match a topic X/shadow[/...] with X per `pred` (X not '$...')?
bool intersects_short(const std::vector<std::string_view>& f, const ThingPredicate& pred) {
  if (f[0] == "#") return pred.satisfiable_by("+");
  if (f[0] != "+" && f[0].starts_with('$')) return false;
  if (!pred.satisfiable_by(f[0])) return false;
  if (f.size() < 2) return false;
  return f[1] == "#" || f[1] == "+" || f[1] == "shadow";
}

// Does every topic `f` matches lie in the namespace of a thing per `pred`?
// (For want_own == false any thing is accepted: "some shadow namespace".)
bool subset_aws(const std::vector<std::string_view>& f, const ThingPredicate& pred) {
  if (f.size() < 4 || f[0] != "$aws" || f[1] != "things" || f[3] != "shadow") return false;
  if (f[2] == "#") return false;
  return pred.want_own ? (pred.own.has_value() && f[2] == *pred.own) : true;
}

bool subset_short(const std::vector<std::string_view>& f, const ThingPredicate& pred) {
  if (f.size() < 2 || f[0] == "#" || f[1] != "shadow") return false;
  if (f[0] != "+" && f[0].starts_with('$')) return false;
  return pred.want_own ? (pred.own.has_value() && f[0] == *pred.own) : true;
}

// "$share/group/filter" subscribes to "filter".
std::string_view strip_shared(std::string_view filter) {
  if (!filter.starts_with("$share/")) return filter;
  std::string_view rest = filter.substr(7);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  return rest.substr(slash + 1);
}

Decision decide_filter(const Principal& principal, Access access, std::string_view filter,
                       bool short_topics) {
  filter = strip_shared(filter);
  if (filter.empty()) return Decision::kNoObjection;
  std::vector<std::string_view> f = split_levels(filter);
  ThingPredicate own{principal.thing, true};
  ThingPredicate other{principal.thing, false};
  ThingPredicate any{std::nullopt, false};

  bool touches = intersects_aws(f, any) || (short_topics && intersects_short(f, any));
  if (!touches) return Decision::kNoObjection;
  if (access == Access::kUnsubscribe) return Decision::kAllow;  // dropping access is harmless
  bool only_shadow = subset_aws(f, any) || (short_topics && subset_short(f, any));
  if (!only_shadow) return Decision::kNoObjection;  // each delivery is checked (kRead)
  if (principal.admin) return Decision::kAllow;
  bool only_own = subset_aws(f, own) || (short_topics && subset_short(f, own));
  if (only_own) return Decision::kAllow;
  bool foreign = intersects_aws(f, other) || (short_topics && intersects_short(f, other));
  return foreign ? Decision::kDeny : Decision::kAllow;
}

constexpr std::string_view kEventsPrefix = "$aws/events/";

// The client id an event topic is about: what follows
// "$aws/events/<group>/<kind>/" (a client id may contain '/'), or nullopt.
std::optional<std::string_view> event_client_id(std::string_view topic) {
  if (!topic.starts_with(kEventsPrefix)) return std::nullopt;
  std::string_view rest = topic.substr(kEventsPrefix.size());
  for (int level = 0; level < 2; level++) {
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    rest = rest.substr(slash + 1);
  }
  if (rest.empty()) return std::nullopt;
  return rest;
}

// A subscription filter and the lifecycle event topics; nullopt when the
// filter cannot match any of them (the shadow rules then apply).
std::optional<Decision> decide_events_filter(const Principal& principal, Access access, std::string_view filter) {
  filter = strip_shared(filter);
  std::vector<std::string_view> f = split_levels(filter);
  // Wildcards at the first level never match '$' topics.
  bool touches = f[0] == "$aws" && f.size() >= 2 && (f[1] == "events" || is_wild(f[1]));
  if (!touches) return std::nullopt;
  if (access == Access::kUnsubscribe) return Decision::kAllow;
  if (f[1] != "events") return std::nullopt;  // $aws/# and the like: each delivery is checked
  if (principal.admin) return Decision::kAllow;
  // Own events only: $aws/events/<group or +>/<kind or +>/<own client id>.
  if (f.size() >= 5 && f[2] != "#" && f[3] != "#" && principal.client_id) {
    std::string_view id = filter;
    for (int level = 0; level < 4; level++) id = id.substr(id.find('/') + 1);
    if (id == *principal.client_id && id.find_first_of("+#") == std::string_view::npos) return Decision::kAllow;
  }
  return Decision::kDeny;
}

}  // namespace

bool is_event_topic(std::string_view topic) {
  return topic == "$aws/events" || topic.starts_with(kEventsPrefix);
}

bool is_service_topic(const AuthzConfig& config, std::string_view topic, bool short_topics) {
  return is_reserved_topic(topic, short_topics) || (config.lifecycle_events && is_event_topic(topic));
}

std::string_view strip_sdk_metrics(std::string_view username) {
  return username.substr(0, username.find('?'));
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with single-star backtracking: linear memory, and
  // O(|pattern| * |text|) worst case, so a hostile username cannot blow up.
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      p++;
      t++;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') p++;
  return p == pattern.size();
}

Principal resolve_principal(const AuthzConfig& config, const ClientFacts& facts) {
  Principal principal;
  std::optional<std::string_view> username;
  if (facts.username) username = strip_sdk_metrics(*facts.username);

  if (facts.client_id) principal.client_id = std::string(*facts.client_id);
  std::optional<std::string_view> thing;
  switch (config.identity) {
    case IdentitySource::kNone: break;
    case IdentitySource::kClientId: thing = facts.client_id; break;
    case IdentitySource::kUsername: thing = username; break;
    case IdentitySource::kCertCn: thing = facts.cert_cn; break;
  }
  // A name that cannot be a single topic level owns no namespace.
  if (thing && !thing->empty() && thing->find_first_of("/+#") == std::string_view::npos &&
      thing->find('\0') == std::string_view::npos) {
    principal.thing = std::string(*thing);
  }

  std::optional<std::string_view> admin_key =
      config.identity == IdentitySource::kCertCn ? facts.cert_cn : username;
  if (admin_key && !admin_key->empty()) {
    principal.admin =
        std::find(config.admin_usernames.begin(), config.admin_usernames.end(), *admin_key) !=
            config.admin_usernames.end() ||
        (!config.admin_pattern.empty() && glob_match(config.admin_pattern, *admin_key));
  }
  return principal;
}

bool may_touch_shadow_namespace(std::string_view s, bool short_topics) {
  if (s.starts_with("$share/")) return true;  // the real filter follows; let decide() strip it
  if (s.starts_with("$aws/")) return true;
  if (!short_topics || s.starts_with('$')) return false;
  // Short form: second level "shadow", or a wildcard that may stand for it.
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return s == "#";
  std::string_view second = s.substr(slash + 1);
  second = second.substr(0, second.find('/'));
  return second == "shadow" || is_wild(second) || s.substr(0, slash) == "#";
}

std::optional<std::string_view> namespace_thing(std::string_view topic, bool short_topics) {
  if (topic.starts_with("$aws/things/")) {
    std::string_view rest = topic.substr(12);
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::string_view after = rest.substr(slash + 1);
    if (after == "shadow" || after.starts_with("shadow/")) return rest.substr(0, slash);
    return std::nullopt;
  }
  if (!short_topics || topic.starts_with('$')) return std::nullopt;
  size_t slash = topic.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view after = topic.substr(slash + 1);
  if (after == "shadow" || after.starts_with("shadow/")) return topic.substr(0, slash);
  return std::nullopt;
}

bool is_reserved_topic(std::string_view topic, bool short_topics) {
  size_t slash = topic.rfind('/');
  if (slash == std::string_view::npos) return false;
  std::string_view last = topic.substr(slash + 1);
  if (std::find(std::begin(kReservedLast), std::end(kReservedLast), last) == std::end(kReservedLast)) {
    return false;
  }
  // In a namespace, a last level other than "shadow" lies below "shadow".
  return namespace_thing(topic, short_topics).has_value();
}

Decision decide(const AuthzConfig& config, const Principal& principal, Access access,
                std::string_view topic, bool short_topics) {
  if (config.lifecycle_events) {
    if (access == Access::kSubscribe || access == Access::kUnsubscribe) {
      if (!config.binding()) return Decision::kNoObjection;
      if (std::optional<Decision> d = decide_events_filter(principal, access, topic)) return *d;
    } else if (is_event_topic(topic)) {
      if (access == Access::kWrite) return Decision::kDeny;
      if (!config.binding() || principal.admin) return config.binding() ? Decision::kAllow : Decision::kNoObjection;
      std::optional<std::string_view> about = event_client_id(topic);
      return about && principal.client_id && *about == *principal.client_id ? Decision::kAllow : Decision::kDeny;
    }
  }
  if (access == Access::kSubscribe || access == Access::kUnsubscribe) {
    if (!config.binding()) return Decision::kNoObjection;
    return decide_filter(principal, access, topic, short_topics);
  }
  auto thing = namespace_thing(topic, short_topics);
  if (!thing) return Decision::kNoObjection;
  if (access == Access::kWrite && is_reserved_topic(topic, short_topics)) return Decision::kDeny;
  if (!config.binding()) return Decision::kNoObjection;
  if (principal.admin) return Decision::kAllow;
  return principal.thing && *thing == *principal.thing ? Decision::kAllow : Decision::kDeny;
}

}  // namespace shadow::plugin
