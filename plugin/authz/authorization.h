// Per-device authorization of shadow topics (docs/security.md): who may
// publish to and subscribe to which thing's shadow topics, decided from the
// client's identity. Pure code: no broker headers. acl_check.cc feeds it what
// Mosquitto knows about a client and turns the Decision into a MOSQ_ERR_*.
//
// The shadow namespace of thing T is every topic under "$aws/things/T/shadow"
// (that topic included) and, with short topics on, under "T/shadow" when T
// does not start with '$'. A principal bound to thing D owns D's namespace;
// an admin owns every namespace; topics outside every namespace are not the
// plugin's business (Decision::kNoObjection).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shadow::plugin {

// Where a client's thing name comes from (plugin_opt_thing_identity).
enum class IdentitySource { kNone, kClientId, kUsername, kCertCn };

// What the ACL check answers when it neither allows nor denies itself
// (plugin_opt_acl_fallback). kDefer lets Mosquitto's acl_file decide; a
// broker without an acl_file then denies (in Mosquitto 2.0 a deferring ACL plugin
// with no other ACL source is deny-all). kAllow grants.
enum class AclFallback { kDefer, kAllow };

struct AuthzConfig {
  IdentitySource identity = IdentitySource::kNone;
  std::vector<std::string> admin_usernames;  // exact matches
  std::string admin_pattern;                 // glob with '*' and '?'; "" = none
  AclFallback fallback = AclFallback::kDefer;
  bool fallback_given = false;               // plugin_opt_acl_fallback was set
  uint32_t rate_limit_per_thing = 0;         // requests/s per thing; 0 = off
  // plugin_opt_lifecycle_events: the plugin publishes on $aws/events/...,
  // so no client may, and with binding a client may only read (and
  // subscribe to) the events of its own client id; admins read all.
  bool lifecycle_events = false;

  bool binding() const { return identity != IdentitySource::kNone; }
  // The ACL callback is needed for binding, and also when the operator asked
  // for it explicitly (to refuse Will messages on response topics).
  bool acl_check_wanted() const { return binding() || fallback_given; }
};

// The username without the metrics the AWS SDKs append ("alice?SDK=JS&..."
// becomes "alice"): everything from the first '?' is dropped.
std::string_view strip_sdk_metrics(std::string_view username);

// Glob match: '*' is any run of characters (also empty), '?' one character.
bool glob_match(std::string_view pattern, std::string_view text);

// What Mosquitto knows about a client; absent values are nullopt.
struct ClientFacts {
  std::optional<std::string_view> client_id;
  std::optional<std::string_view> username;  // as sent, ?SDK=... included
  std::optional<std::string_view> cert_cn;   // only read in kCertCn mode
};

struct Principal {
  std::optional<std::string> thing;  // bound thing; nullopt: owns no namespace
  bool admin = false;
  std::optional<std::string> client_id;  // whose lifecycle events it may read
};

// The client's thing and admin status. Admins are matched against the
// stripped username, or against the certificate CN in kCertCn mode (there the
// username is only trustworthy with use_identity_as_username).
Principal resolve_principal(const AuthzConfig& config, const ClientFacts& facts);

// True when `topic` may be in some shadow namespace, without allocating:
// the fast path for the many non-shadow messages a broker carries. For a
// subscription filter pass the filter; wildcards count as "may".
bool may_touch_shadow_namespace(std::string_view topic_or_filter, bool short_topics);

// The thing whose namespace `topic` (no wildcards) is in, or nullopt.
std::optional<std::string_view> namespace_thing(std::string_view topic, bool short_topics);

// A response or event topic: in a shadow namespace with a last level of
// accepted, rejected, delta or documents. Only the plugin publishes those.
bool is_reserved_topic(std::string_view topic, bool short_topics);

// A lifecycle event topic: "$aws/events" or below it.
bool is_event_topic(std::string_view topic);

// A topic only the plugin publishes: a reserved shadow topic, and with
// lifecycle events on, every event topic.
bool is_service_topic(const AuthzConfig& config, std::string_view topic, bool short_topics);

enum class Access { kRead, kWrite, kSubscribe, kUnsubscribe };
enum class Decision { kAllow, kDeny, kNoObjection };

// The decision for one access. Reserved topics are never writable. Without
// binding nothing else is objected to. With binding, a topic or filter that
// stays inside the principal's own namespace (or any, for an admin) is
// allowed; one that can reach only shadow namespaces, some of them foreign,
// is denied. A filter that can also match non-shadow topics (such as "#")
// gets kNoObjection: the broker's ACL decides, and each delivery of a foreign
// shadow topic is then denied by its kRead check. With lifecycle events on,
// event topics follow the same pattern with the client id in place of the
// thing: never writable; with binding, readable by admins and by the client
// the event is about.
Decision decide(const AuthzConfig& config, const Principal& principal, Access access,
                std::string_view topic_or_filter, bool short_topics);

}  // namespace shadow::plugin
