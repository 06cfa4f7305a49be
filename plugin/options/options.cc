#include "plugin/options/options.h"

#include <charconv>
#include <limits>
#include <set>
#include <string_view>

#include "store/redis/cluster_routing.h"
#include "shadow_core/history.h"

namespace shadow::plugin {
namespace {

constexpr const char* kKnownOptions =
    "db_path, sync_writes, short_topics, event_topics, max_document_bytes, max_depth, "
    "max_payload_bytes, tombstone_retention_s, block_cache_mb, wal_recovery, tombstone_bumps_version, "
    "delta_on_unchanged, documents_previous, error_timestamp, reserved_shadow_names, "
    "invalid_json_message, null_in_array_message, rest_update_publishes_accepted, "
    "rest_delete_publishes_accepted, rest_not_found_thing_tilde_shadow, http_listen, http_auth, "
    "http_credentials_file, http_tls_cert, http_tls_key, http_threads, http_metrics_auth, "
    "http_max_header_bytes, http_max_connections, http_max_connections_per_ip, "
    "http_head_timeout_s, "
    "thing_identity, admin_usernames, admin_pattern, acl_fallback, rate_limit_per_thing, history_versions, "
    "fleet_update_batch, lifecycle_events, presence_field, connect_detection, delta_on_subscribe, "
    "clear_desired_on_match, store, "
    "redis_nodes, redis_password_file, redis_user, redis_tls, redis_tls_ca_file, redis_tls_cert_file, "
    "redis_tls_key_file, redis_tls_server_name, redis_connect_timeout_ms, redis_command_timeout_ms, "
    "redis_request_timeout_ms, redis_wait_replicas, redis_wait_timeout_ms, redis_key_prefix, "
    "redis_workers, rules, rules_file, rules_http_allow, rules_http_queue, rules_http_workers, "
    "rules_account_id, rules_region";

// Engine choices where AWS's behaviour is unverified (docs/compatibility.md):
// plain true/false switches, one table so parsing and logging stay in step.
struct BoolChoice {
  const char* key;
  bool Config::*field;
};
constexpr BoolChoice kBoolChoices[] = {
    {"tombstone_bumps_version", &Config::tombstone_bumps_version},
    {"delta_on_unchanged", &Config::delta_on_unchanged},
    {"error_timestamp", &Config::error_timestamp},
    {"reserved_shadow_names", &Config::reserved_shadow_names},
    {"rest_update_publishes_accepted", &Config::rest_update_publishes_accepted},
    {"rest_delete_publishes_accepted", &Config::rest_delete_publishes_accepted},
    {"rest_not_found_thing_tilde_shadow", &Config::rest_not_found_thing_tilde_shadow},
};

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  size_t last = s.find_last_not_of(ws);
  return s.substr(first, last - first + 1);
}

Status invalid(std::string_view key, std::string_view value, std::string_view expected) {
  std::string m = "plugin_opt_";
  m.append(key).append(": '").append(value).append("' is not valid; expected ").append(expected);
  return Status::invalid_argument(std::move(m));
}

// Accepts only "true" or "false": a typo must not silently pick a default.
bool parse_bool(std::string_view value, bool* out) {
  if (value == "true") { *out = true; return true; }
  if (value == "false") { *out = false; return true; }
  return false;
}

// A plain decimal integer in [min, max]: no sign, no suffix, no spaces.
bool parse_int(std::string_view value, int64_t min, int64_t max, int64_t* out) {
  if (value.empty() || value.front() < '0' || value.front() > '9') return false;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size()) return false;
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

std::string range_text(int64_t min, int64_t max) {
  return "an integer from " + std::to_string(min) + " to " + std::to_string(max);
}

// "host:port" or "[v6addr]:port"; the host is kept without brackets.
bool parse_listen(std::string_view value, HttpConfig* http) {
  size_t colon = value.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = value.substr(0, colon);
  int64_t port = 0;
  if (!parse_int(value.substr(colon + 1), 1, 65535, &port)) return false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return false;  // an IPv6 address needs brackets
  }
  if (host.find_first_of(" \t[]/") != std::string_view::npos) return false;
  http->host = std::string(host);
  http->port = static_cast<int>(port);
  return true;
}

const BoolChoice* find_bool_choice(std::string_view key) {
  for (const BoolChoice& c : kBoolChoices)
    if (key == c.key) return &c;
  return nullptr;
}

const char* identity_name(IdentitySource s) {
  switch (s) {
    case IdentitySource::kNone: return "none";
    case IdentitySource::kClientId: return "client_id";
    case IdentitySource::kUsername: return "username";
    case IdentitySource::kCertCn: return "cert_cn";
  }
  return "?";
}

// The per-device authorization options (docs/security.md).
Status apply_authz(std::string_view key, std::string_view value, AuthzConfig* c) {
  if (key == "thing_identity") {
    if (value == "none") c->identity = IdentitySource::kNone;
    else if (value == "client_id") c->identity = IdentitySource::kClientId;
    else if (value == "username") c->identity = IdentitySource::kUsername;
    else if (value == "cert_cn") c->identity = IdentitySource::kCertCn;
    else return invalid(key, value, "none, client_id, username or cert_cn");
  } else if (key == "admin_usernames") {
    std::vector<std::string> names;
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string_view::npos) comma = value.size();
      std::string_view name = trim(value.substr(start, comma - start));
      if (name.empty()) return invalid(key, value, "a comma-separated list of usernames, none empty");
      names.emplace_back(name);
      start = comma + 1;
    }
    c->admin_usernames = std::move(names);
  } else if (key == "admin_pattern") {
    if (value.empty() || value.find_first_not_of('*') == std::string_view::npos) {
      return invalid(key, value, "a glob naming admin usernames, e.g. app-* (not only '*')");
    }
    c->admin_pattern = std::string(value);
  } else if (key == "acl_fallback") {
    if (value == "defer") c->fallback = AclFallback::kDefer;
    else if (value == "allow") c->fallback = AclFallback::kAllow;
    else return invalid(key, value, "defer or allow");
    c->fallback_given = true;
  } else if (key == "rate_limit_per_thing") {
    int64_t n = 0;
    if (!parse_int(value, 0, 1000000, &n)) {
      return invalid(key, value, "requests per second per thing, 0 (off) to 1000000");
    }
    c->rate_limit_per_thing = static_cast<uint32_t>(n);
  }
  return Status::ok();
}

bool is_authz_option(std::string_view key) {
  return key == "thing_identity" || key == "admin_usernames" || key == "admin_pattern" ||
         key == "acl_fallback" || key == "rate_limit_per_thing";
}

std::string describe_authz(const AuthzConfig& c) {
  std::string s = std::string("thing_identity=") + identity_name(c.identity);
  if (!c.admin_usernames.empty()) {
    s += " admin_usernames=";
    for (size_t i = 0; i < c.admin_usernames.size(); i++) {
      if (i > 0) s += ',';
      s += c.admin_usernames[i];
    }
  }
  if (!c.admin_pattern.empty()) s += " admin_pattern=" + c.admin_pattern;
  if (c.acl_check_wanted()) {
    s += std::string(" acl_fallback=") + (c.fallback == AclFallback::kAllow ? "allow" : "defer");
  } else {
    s += " acl_check=off";
  }
  s += " rate_limit_per_thing=" + std::to_string(c.rate_limit_per_thing);
  return s;
}

bool is_rules_option(std::string_view key) { return key == "rules" || key.substr(0, 6) == "rules_"; }

// The rules engine's options (docs/configuration.md#rules).
Status apply_rules(std::string_view key, std::string_view value, RulesConfig* c) {
  int64_t n = 0;
  if (key == "rules") {
    if (!parse_bool(value, &c->enabled)) return invalid(key, value, "true or false");
  } else if (key == "rules_file") {
    if (value.empty()) return invalid(key, value, "a file or directory of rule definitions");
    c->file = std::string(value);
  } else if (key == "rules_http_allow") {
    // Checked in full when the engine starts (host:port syntax).
    c->http_allow = std::string(value);
  } else if (key == "rules_http_queue") {
    if (!parse_int(value, 1, 1000000, &n)) return invalid(key, value, range_text(1, 1000000));
    c->http_queue = static_cast<size_t>(n);
  } else if (key == "rules_http_workers") {
    if (!parse_int(value, 1, 64, &n)) return invalid(key, value, range_text(1, 64));
    c->http_workers = static_cast<int>(n);
  } else if (key == "rules_account_id") {
    if (value.size() != 12 || value.find_first_not_of("0123456789") != std::string_view::npos)
      return invalid(key, value, "12 digits, like an AWS account id");
    c->account_id = std::string(value);
  } else if (key == "rules_region") {
    if (value.empty() || value.size() > 32 || value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
                                                   std::string_view::npos)
      return invalid(key, value, "a region name of lower-case letters, digits and '-', e.g. eu-west-1");
    c->region = std::string(value);
  } else {
    std::string m = "unknown option plugin_opt_";
    m.append(key).append("; valid options are: ").append(kKnownOptions);
    return Status::invalid_argument(std::move(m));
  }
  return Status::ok();
}

// The redis_* options (plugin_opt_store redis-cluster; docs/scale-out.md).
Status apply_redis(std::string_view key, std::string_view value, RedisConfig* c) {
  auto integer = [&](int64_t min, int64_t max, int* out) -> Status {
    int64_t n = 0;
    if (!parse_int(value, min, max, &n)) return invalid(key, value, range_text(min, max));
    *out = static_cast<int>(n);
    return Status::ok();
  };
  if (key == "redis_nodes") {
    auto nodes = redis::parse_node_list(value);
    if (!nodes.ok() || nodes->empty())
      return invalid(key, value, "a comma-separated list of host:port seed nodes, e.g. 10.0.0.1:6379,10.0.0.2:6379");
    c->nodes = std::string(value);
  } else if (key == "redis_tls") {
    if (!parse_bool(value, &c->tls)) return invalid(key, value, "true or false");
  } else if (key == "redis_password_file" || key == "redis_tls_ca_file" || key == "redis_tls_cert_file" ||
             key == "redis_tls_key_file") {
    if (value.empty()) return invalid(key, value, "a file path");
    (key == "redis_password_file"   ? c->password_file
     : key == "redis_tls_ca_file"   ? c->tls_ca_file
     : key == "redis_tls_cert_file" ? c->tls_cert_file
                                    : c->tls_key_file) = std::string(value);
  } else if (key == "redis_user" || key == "redis_tls_server_name") {
    if (value.empty() || value.find_first_of(" \t") != std::string_view::npos)
      return invalid(key, value, "a name without spaces");
    (key == "redis_user" ? c->user : c->tls_server_name) = std::string(value);
  } else if (key == "redis_connect_timeout_ms") {
    return integer(1, 600000, &c->connect_timeout_ms);
  } else if (key == "redis_command_timeout_ms") {
    return integer(1, 600000, &c->command_timeout_ms);
  } else if (key == "redis_request_timeout_ms") {
    return integer(1, 600000, &c->request_timeout_ms);
  } else if (key == "redis_wait_replicas") {
    return integer(0, 16, &c->wait_replicas);
  } else if (key == "redis_wait_timeout_ms") {
    return integer(1, 600000, &c->wait_timeout_ms);
  } else if (key == "redis_key_prefix") {
    if (value.find_first_of("{} \t") != std::string_view::npos)
      return invalid(key, value, "a prefix without braces or spaces, e.g. prod:");
    c->key_prefix = std::string(value);
  } else if (key == "redis_workers") {
    return integer(1, 1024, &c->workers);
  }
  return Status::ok();
}

// The presence options (docs/configuration.md#presence-options).
Status apply_presence(std::string_view key, std::string_view value, PresenceConfig* c) {
  if (key == "lifecycle_events") {
    if (!parse_bool(value, &c->lifecycle_events)) return invalid(key, value, "true or false");
  } else if (key == "delta_on_subscribe") {
    if (!parse_bool(value, &c->delta_on_subscribe)) return invalid(key, value, "true or false");
  } else if (key == "connect_detection") {
    if (value == "connect") c->detection = ConnectDetection::kConnect;
    else if (value == "activity") c->detection = ConnectDetection::kActivity;
    else return invalid(key, value, "connect or activity");
  } else if (key == "presence_field") {
    // A member name of reported: printable ASCII without quotes or
    // backslashes, so that it reads the same in every client.
    bool ok = !value.empty() && value.size() <= 64;
    for (char ch : value) ok = ok && ch > ' ' && ch < 0x7F && ch != '"' && ch != '\\';
    if (!ok) return invalid(key, value, "a member name for reported, 1 to 64 printable characters, e.g. connected");
    c->field = std::string(value);
  }
  return Status::ok();
}

std::string describe_rules(const RulesConfig& c) {
  if (!c.enabled) return "rules=false";
  std::string s = "rules=true";
  if (!c.file.empty()) s += " rules_file=" + c.file;
  s += " rules_http_allow=" + (c.http_allow.empty() ? std::string("none") : c.http_allow);
  s += " rules_http_queue=" + std::to_string(c.http_queue);
  s += " rules_http_workers=" + std::to_string(c.http_workers);
  s += " rules_account_id=" + c.account_id + " rules_region=" + c.region;
  return s;
}

bool is_redis_option(std::string_view key) {
  static constexpr std::string_view kKeys[] = {
      "redis_nodes",          "redis_password_file",      "redis_user",
      "redis_tls",            "redis_tls_ca_file",        "redis_tls_cert_file",
      "redis_tls_key_file",   "redis_tls_server_name",    "redis_connect_timeout_ms",
      "redis_command_timeout_ms", "redis_request_timeout_ms", "redis_wait_replicas",
      "redis_wait_timeout_ms", "redis_key_prefix",        "redis_workers"};
  for (std::string_view k : kKeys)
    if (key == k) return true;
  return false;
}

bool is_presence_option(std::string_view key) {
  return key == "lifecycle_events" || key == "delta_on_subscribe" || key == "connect_detection" ||
         key == "presence_field";
}

// Applies one option to *config.
Status apply(std::string_view key, std::string_view value, PluginConfig* config) {
  auto integer = [&](int64_t min, int64_t max, int64_t* out) -> Status {
    return parse_int(value, min, max, out) ? Status::ok() : invalid(key, value, range_text(min, max));
  };
  int64_t n = 0;
  Status err;

  if (key == "store") {
    if (value == "rocksdb") config->store = StoreKind::kRocksDb;
    else if (value == "redis-cluster") config->store = StoreKind::kRedisCluster;
    else return invalid(key, value, "rocksdb or redis-cluster");
  } else if (is_redis_option(key)) {
    return apply_redis(key, value, &config->redis);
  } else if (key == "db_path") {
    if (value.empty()) return invalid(key, value, "a directory path");
    config->db_path = std::string(value);
  } else if (key == "sync_writes") {
    if (!parse_bool(value, &config->sync_writes)) return invalid(key, value, "true or false");
  } else if (key == "debug_sync_log") {
    // A test aid, so deliberately left out of kKnownOptions (group_commit.h).
    if (value.empty()) return invalid(key, value, "a file path");
    config->debug_sync_log = std::string(value);
  } else if (key == "short_topics") {
    if (!parse_bool(value, &config->engine.short_topics)) return invalid(key, value, "true or false");
  } else if (key == "event_topics") {
    if (value == "both") config->engine.event_topics = EventTopics::kBoth;
    else if (value == "aws") config->engine.event_topics = EventTopics::kAws;
    else if (value == "short") config->engine.event_topics = EventTopics::kShort;
    else return invalid(key, value, "both, aws or short");
  } else if (key == "max_document_bytes") {
    if (!(err = integer(1, 16 << 20, &n)).is_ok()) return err;
    config->engine.max_document_bytes = static_cast<size_t>(n);
  } else if (key == "max_depth") {
    if (!(err = integer(1, 64, &n)).is_ok()) return err;
    config->engine.max_depth = static_cast<int>(n);
  } else if (key == "max_payload_bytes") {
    // 268435455 is the largest MQTT packet the protocol can describe.
    if (!(err = integer(1, 268435455, &n)).is_ok()) return err;
    config->engine.max_payload_bytes = static_cast<size_t>(n);
  } else if (key == "tombstone_retention_s") {
    if (!(err = integer(0, std::numeric_limits<int64_t>::max(), &n)).is_ok()) return err;
    config->engine.tombstone_retention_s = n;
  } else if (key == "history_versions") {
    if (!(err = integer(0, history::kMaxVersions, &n)).is_ok()) return err;
    config->engine.history_versions = static_cast<uint32_t>(n);
  } else if (key == "fleet_update_batch") {
    if (!(err = integer(1, 10000, &n)).is_ok()) return err;
    config->fleet_update_batch = static_cast<int>(n);
  } else if (key == "block_cache_mb") {
    if (!(err = integer(0, 1 << 20, &n)).is_ok()) return err;
    config->block_cache_bytes = static_cast<uint64_t>(n) << 20;
  } else if (key == "wal_recovery") {
    if (value == "strict") config->wal_point_in_time = false;
    else if (value == "point_in_time") config->wal_point_in_time = true;
    else return invalid(key, value, "strict or point_in_time");
  } else if (key == "documents_previous") {
    if (value == "null") config->engine.documents_previous_null = true;
    else if (value == "omit") config->engine.documents_previous_null = false;
    else return invalid(key, value, "null or omit");
  } else if (key == "invalid_json_message" || key == "null_in_array_message") {
    if (value.empty()) return invalid(key, value, "a non-empty message");
    (key == "invalid_json_message" ? config->engine.invalid_json_message
                                   : config->engine.null_in_array_message) = std::string(value);
  } else if (key == "http_listen") {
    if (!parse_listen(value, &config->http))
      return invalid(key, value, "host:port, e.g. 127.0.0.1:8080 or [::1]:8080 (port 1 to 65535)");
  } else if (key == "http_auth") {
    if (value == "sigv4") config->http.auth_sigv4 = true;
    else if (value == "none") config->http.auth_sigv4 = false;
    else return invalid(key, value, "sigv4 or none");
  } else if (key == "http_credentials_file" || key == "http_tls_cert" || key == "http_tls_key") {
    if (value.empty()) return invalid(key, value, "a file path");
    (key == "http_credentials_file" ? config->http.credentials_file
     : key == "http_tls_cert"       ? config->http.tls_cert
                                    : config->http.tls_key) = std::string(value);
  } else if (key == "http_threads") {
    if (!(err = integer(1, 256, &n)).is_ok()) return err;
    config->http.threads = static_cast<int>(n);
  } else if (key == "http_max_header_bytes") {
    if (!(err = integer(1024, 1 << 20, &n)).is_ok()) return err;
    config->http.max_header_bytes = static_cast<int>(n);
  } else if (key == "http_max_connections") {
    if (!(err = integer(1, 1000000, &n)).is_ok()) return err;
    config->http.max_connections = static_cast<int>(n);
  } else if (key == "http_max_connections_per_ip") {
    if (!(err = integer(0, 1000000, &n)).is_ok()) return err;
    config->http.max_connections_per_ip = static_cast<int>(n);
  } else if (key == "http_head_timeout_s") {
    if (!(err = integer(1, 3600, &n)).is_ok()) return err;
    config->http.head_timeout_s = static_cast<int>(n);
  } else if (key == "http_metrics_auth") {
    if (!parse_bool(value, &config->http.metrics_auth)) return invalid(key, value, "true or false");
  } else if (key == "clear_desired_on_match") {
    if (!parse_bool(value, &config->engine.clear_desired_on_match)) return invalid(key, value, "true or false");
  } else if (is_presence_option(key)) {
    return apply_presence(key, value, &config->presence);
  } else if (is_authz_option(key)) {
    return apply_authz(key, value, &config->authz);
  } else if (is_rules_option(key)) {
    return apply_rules(key, value, &config->rules);
  } else if (const BoolChoice* choice = find_bool_choice(key)) {
    if (!parse_bool(value, &(config->engine.*(choice->field)))) return invalid(key, value, "true or false");
  } else {
    std::string m = "unknown option plugin_opt_";
    m.append(key).append("; valid options are: ").append(kKnownOptions);
    return Status::invalid_argument(std::move(m));
  }
  return Status::ok();
}

const char* event_topics_name(EventTopics e) {
  switch (e) {
    case EventTopics::kBoth: return "both";
    case EventTopics::kAws: return "aws";
    case EventTopics::kShort: return "short";
  }
  return "?";
}

// The combinations plugin_opt_store redis-cluster refuses (docs/scale-out.md).
Status check_cluster(const PluginConfig& config, const std::set<std::string_view>& seen) {
  const RedisConfig& r = config.redis;
  if (r.nodes.empty())
    return Status::invalid_argument(
        "plugin_opt_redis_nodes is required with plugin_opt_store redis-cluster: some nodes of the "
        "Redis Cluster as host:port,host:port (any node will do; the others are found from them)");
  for (std::string_view key : {std::string_view("db_path"), std::string_view("block_cache_mb"), std::string_view("wal_recovery")}) {
    if (seen.count(key))
      return Status::invalid_argument("plugin_opt_" + std::string(key) +
                                      " is for the rocksdb store; with plugin_opt_store redis-cluster the "
                                      "shadows are kept in the Redis Cluster: remove the line");
  }
  if (config.engine.history_versions > 0 || seen.count("fleet_update_batch"))
    return Status::invalid_argument(
        "the shadow history and fleet updates (plugin_opt_history_versions, plugin_opt_fleet_update_batch) "
        "are not available with plugin_opt_store redis-cluster yet: remove those lines, or use the rocksdb "
        "store");
  // Presence keeps each client's connection record (and its version) in
  // the store of one broker; several brokers would overwrite each other's.
  bool presence = config.engine.clear_desired_on_match;
  for (std::string_view key : seen) presence = presence || is_presence_option(key);
  if (presence)
    return Status::invalid_argument(
        "presence (plugin_opt_lifecycle_events, plugin_opt_presence_field, plugin_opt_delta_on_subscribe, "
        "plugin_opt_connect_detection) and plugin_opt_clear_desired_on_match are not available with "
        "plugin_opt_store redis-cluster yet: remove those lines, or use the rocksdb store");
  if (config.sync_writes)
    return Status::invalid_argument(
        "plugin_opt_sync_writes is the rocksdb store's durable mode and does not apply to plugin_opt_store "
        "redis-cluster: there every reply already waits until plugin_opt_redis_wait_replicas replicas "
        "hold the write (Redis WAIT). Remove the line; to have writes on the Redis nodes' disks as well, "
        "run them with appendfsync always");
  bool tls_files = !r.tls_ca_file.empty() || !r.tls_cert_file.empty() || !r.tls_key_file.empty() ||
                   !r.tls_server_name.empty();
  if (!r.tls && tls_files)
    return Status::invalid_argument("plugin_opt_redis_tls_* options need plugin_opt_redis_tls true");
  if (r.tls && r.tls_ca_file.empty())
    return Status::invalid_argument(
        "plugin_opt_redis_tls true needs plugin_opt_redis_tls_ca_file: the CA certificate (PEM) that "
        "signed the Redis nodes' certificates");
  if (r.tls_cert_file.empty() != r.tls_key_file.empty())
    return Status::invalid_argument(
        "plugin_opt_redis_tls_cert_file and plugin_opt_redis_tls_key_file go together: give both (the "
        "broker's client certificate for Redis and its key) or neither");
  if (r.wait_replicas > 0 && r.command_timeout_ms <= r.wait_timeout_ms)
    return Status::invalid_argument(
        "plugin_opt_redis_command_timeout_ms (" + std::to_string(r.command_timeout_ms) +
        ") must be longer than plugin_opt_redis_wait_timeout_ms (" + std::to_string(r.wait_timeout_ms) +
        "): a write waits that long for its replicas within one command");
  if (!config.authz.acl_check_wanted())
    return Status::invalid_argument(
        "plugin_opt_store redis-cluster needs the plugin's ACL check, which is how a broker learns which "
        "things its clients subscribe to (and so which events of other brokers it must receive): set "
        "plugin_opt_acl_fallback (allow on a broker without an acl_file, defer with one) or "
        "plugin_opt_thing_identity");
  return Status::ok();
}

}  // namespace

StatusOr<PluginConfig> parse_options(const std::vector<Option>& options) {
  PluginConfig config;
  std::set<std::string_view> seen;
  for (const auto& [raw_key, raw_value] : options) {
    std::string_view key = trim(raw_key);
    if (!seen.insert(key).second) {
      return Status::invalid_argument("plugin_opt_" + std::string(key) +
                                      " is given more than once; keep one line");
    }
    Status applied = apply(key, trim(raw_value), &config);
    if (!applied.is_ok()) return applied;
  }
  if (config.store == StoreKind::kRedisCluster) {
    Status st = check_cluster(config, seen);
    if (!st.is_ok()) return st;
  } else {
    for (std::string_view key : seen) {
      if (is_redis_option(key))
        return Status::invalid_argument("plugin_opt_" + std::string(key) +
                                        " applies only to plugin_opt_store redis-cluster (the store is rocksdb)");
    }
  }
  if (config.store == StoreKind::kRocksDb && config.db_path.empty()) {
    return Status::invalid_argument(
        "plugin_opt_db_path is required: the directory where shadows are stored, created if "
        "missing and writable by the broker's user (usually 'mosquitto'), e.g. "
        "plugin_opt_db_path /var/lib/mosquitto/shadow");
  }
  if (!config.engine.short_topics && config.engine.event_topics == EventTopics::kShort) {
    return Status::invalid_argument(
        "plugin_opt_event_topics short needs plugin_opt_short_topics true; with short topics "
        "off, events can only use the $aws form (use both or aws)");
  }
  const HttpConfig& http = config.http;
  if (http.tls_cert.empty() != http.tls_key.empty()) {
    return Status::invalid_argument(
        "plugin_opt_http_tls_cert and plugin_opt_http_tls_key go together: give both (PEM "
        "certificate and private key) for HTTPS, or neither for plain HTTP");
  }
  if (http.enabled() && http.auth_sigv4 && http.credentials_file.empty()) {
    return Status::invalid_argument(
        "plugin_opt_http_credentials_file is required when plugin_opt_http_listen is set and "
        "plugin_opt_http_auth is sigv4 (the default): a file with one 'ACCESS_KEY_ID "
        "SECRET_ACCESS_KEY' pair per line; or set plugin_opt_http_auth none for local "
        "development only");
  }
  const AuthzConfig& authz = config.authz;
  if (!authz.binding() && (!authz.admin_usernames.empty() || !authz.admin_pattern.empty())) {
    return Status::invalid_argument(
        "plugin_opt_admin_usernames and plugin_opt_admin_pattern need plugin_opt_thing_identity "
        "(client_id, username or cert_cn): without thing binding every client may use every "
        "shadow, so there is nothing to be an admin of");
  }
  PresenceConfig& presence = config.presence;
  if (presence.enabled() && !authz.acl_check_wanted()) {
    return Status::invalid_argument(
        "plugin_opt_lifecycle_events, plugin_opt_presence_field and plugin_opt_delta_on_subscribe "
        "need the plugin's ACL check (presence sees subscriptions, publishes and Will messages "
        "through it), and the plugin cannot tell whether the broker has an acl_file: set "
        "plugin_opt_acl_fallback allow (no acl_file) or defer (with an acl_file), or turn on "
        "plugin_opt_thing_identity");
  }
  config.authz.lifecycle_events = presence.lifecycle_events;
  return config;
}

std::string describe(const PluginConfig& c) {
  std::string s;
  if (c.store == StoreKind::kRedisCluster) {
    const RedisConfig& r = c.redis;
    s += "store=redis-cluster redis_nodes=" + r.nodes;
    if (!r.password_file.empty()) s += " redis_password_file=" + r.password_file;
    if (!r.user.empty()) s += " redis_user=" + r.user;
    s += std::string(" redis_tls=") + (r.tls ? "true" : "false");
    if (r.tls) {
      s += " redis_tls_ca_file=" + r.tls_ca_file;
      if (!r.tls_cert_file.empty()) s += " redis_tls_cert_file=" + r.tls_cert_file;
      if (!r.tls_server_name.empty()) s += " redis_tls_server_name=" + r.tls_server_name;
    }
    s += " redis_connect_timeout_ms=" + std::to_string(r.connect_timeout_ms);
    s += " redis_command_timeout_ms=" + std::to_string(r.command_timeout_ms);
    s += " redis_request_timeout_ms=" + std::to_string(r.request_timeout_ms);
    s += " redis_wait_replicas=" + std::to_string(r.wait_replicas);
    s += " redis_wait_timeout_ms=" + std::to_string(r.wait_timeout_ms);
    if (!r.key_prefix.empty()) s += " redis_key_prefix=" + r.key_prefix;
    s += " redis_workers=" + std::to_string(r.workers);
  } else {
    s += "db_path=" + c.db_path;
  }
  s += std::string(" sync_writes=") + (c.sync_writes ? "true" : "false");
  if (!c.debug_sync_log.empty()) s += " debug_sync_log=" + c.debug_sync_log;
  s += std::string(" short_topics=") + (c.engine.short_topics ? "true" : "false");
  s += std::string(" event_topics=") + event_topics_name(c.engine.event_topics);
  s += " max_document_bytes=" + std::to_string(c.engine.max_document_bytes);
  s += " max_depth=" + std::to_string(c.engine.max_depth);
  s += " max_payload_bytes=" + std::to_string(c.engine.max_payload_bytes);
  s += " tombstone_retention_s=" + std::to_string(c.engine.tombstone_retention_s);
  if (c.store == StoreKind::kRocksDb) {
    s += " block_cache_mb=" + std::to_string(c.block_cache_bytes >> 20);
    s += std::string(" wal_recovery=") + (c.wal_point_in_time ? "point_in_time" : "strict");
  }
  s += " history_versions=" + std::to_string(c.engine.history_versions);
  s += " fleet_update_batch=" + std::to_string(c.fleet_update_batch);
  for (const BoolChoice& choice : kBoolChoices)
    s += std::string(" ") + choice.key + "=" + (c.engine.*(choice.field) ? "true" : "false");
  s += std::string(" documents_previous=") + (c.engine.documents_previous_null ? "null" : "omit");
  if (c.http.enabled()) {
    bool v6 = c.http.host.find(':') != std::string::npos;
    s += " http_listen=" + (v6 ? "[" + c.http.host + "]" : c.http.host) + ":" +
         std::to_string(c.http.port);
    s += std::string(" http_auth=") + (c.http.auth_sigv4 ? "sigv4" : "none");
    if (c.http.auth_sigv4) s += " http_credentials_file=" + c.http.credentials_file;
    s += std::string(" http_tls=") + (c.http.tls() ? "on" : "off");
    s += " http_threads=" + std::to_string(c.http.threads);
    s += " http_max_header_bytes=" + std::to_string(c.http.max_header_bytes);
    s += " http_max_connections=" + std::to_string(c.http.max_connections);
    s += " http_max_connections_per_ip=" + std::to_string(c.http.max_connections_per_ip);
    s += " http_head_timeout_s=" + std::to_string(c.http.head_timeout_s);
    s += std::string(" http_metrics_auth=") + (c.http.metrics_auth ? "true" : "false");
  } else {
    s += " http_listen=off";
  }
  s += " " + describe_authz(c.authz);
  // Presence only when on: the line stays as it was for brokers without it.
  const PresenceConfig& p = c.presence;
  if (p.lifecycle_events) s += " lifecycle_events=true";
  if (!p.field.empty()) s += " presence_field=" + p.field;
  if (p.delta_on_subscribe) s += " delta_on_subscribe=true";
  if (c.engine.clear_desired_on_match) s += " clear_desired_on_match=true";
  if (p.tracks_connections()) {
    s += std::string(" connect_detection=") + (p.detection == ConnectDetection::kConnect ? "connect" : "activity");
  }
  s += " " + describe_rules(c.rules);
  return s;
}

}  // namespace shadow::plugin
