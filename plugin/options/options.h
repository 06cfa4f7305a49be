// The plugin's options (the `plugin_opt_*` lines of mosquitto.conf) and their
// parsing. Pure code: no broker headers, so the unit tests can call it.
//
// Every option is optional except db_path. An unknown key, a repeated key or
// an invalid value is an error: the plugin refuses to start rather than run
// with a setting the operator did not ask for.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "plugin/authz/authorization.h"
#include "shadow_core/config.h"

namespace shadow::plugin {

// The REST API's HTTP listener (docs/rest-api.md). Off unless http_listen
// is given; the other http_* options are then ignored.
struct HttpConfig {
  std::string host;                  // from http_listen host:port; "" = off
  int port = 0;
  bool auth_sigv4 = true;            // http_auth sigv4 | none
  std::string credentials_file;      // required with sigv4 when enabled
  std::string tls_cert;              // PEM files; both or neither
  std::string tls_key;
  int threads = 64;                  // worker threads: requests processed at once
  int max_header_bytes = 16384;      // request line and header fields
  int max_connections = 512;         // open at once, in total
  int max_connections_per_ip = 64;   // per client address; 0: no limit
  int head_timeout_s = 10;           // to receive a request head, then its body
  bool metrics_auth = true;          // /metrics needs a signature (with sigv4)
  bool enabled() const { return !host.empty(); }
  bool tls() const { return !tls_cert.empty(); }
};

// The rules engine (docs/rules.md): topic rules managed over the REST API
// (aws iot create-topic-rule ...) and optionally loaded from files.
struct RulesConfig {
  bool enabled = true;                    // rules true | false
  std::string file;                       // rules_file: a file or directory of definitions
  std::string http_allow;                 // rules_http_allow: host:port list for http:// URLs
  size_t http_queue = 1000;               // rules_http_queue: http actions waiting at most
  int http_workers = 2;                   // rules_http_workers
  std::string account_id = "000000000000";  // rules_account_id: rule ARNs and accountid()
  std::string region = "us-east-1";         // rules_region: rule ARNs
};

// Where shadows are kept.
enum class StoreKind {
  kRocksDb,       // embedded RocksDB in db_path: one broker (the default)
  kRedisCluster,  // a Redis Cluster shared by several brokers (docs/scale-out.md)
};

// The Redis Cluster store and the cluster mode of the plugin
// (plugin_opt_store redis-cluster; docs/scale-out.md). The redis_* options
// are refused with any other store.
struct RedisConfig {
  std::string nodes;            // seed nodes "host:port,host:port" (required)
  std::string password_file;    // first line is the password; empty: no AUTH
  std::string user;             // Redis ACL user; empty: the default user
  bool tls = false;
  std::string tls_ca_file;      // required with tls
  std::string tls_cert_file;    // client certificate and key: both or neither
  std::string tls_key_file;
  std::string tls_server_name;  // empty: the address connected to
  int connect_timeout_ms = 1000;
  int command_timeout_ms = 2000;   // one round trip; must exceed wait_timeout_ms
  int request_timeout_ms = 5000;   // a whole store call, retries and failover waits included
  int wait_replicas = 1;           // replicas that must confirm a write (WAIT); 0: off
  int wait_timeout_ms = 500;
  std::string key_prefix;          // prepended to every key and channel; no braces
  // Threads that run MQTT requests (a request waits for Redis there, never
  // on the broker thread); one shadow always goes to the same one.
  int workers = 16;
};

// Presence (docs/mqtt-api.md#presence-and-catch-up): lifecycle events, the
// connected state in the shadow, and the catch-up delta. All off by
// default; any of them needs the plugin's ACL check (parse_options says
// so when thing_identity and acl_fallback leave it off).
enum class ConnectDetection {
  kActivity,  // at the client's first publish or subscription (default)
  kConnect,   // at the CONNECT, through the username/password check
};

struct PresenceConfig {
  bool lifecycle_events = false;     // $aws/events/presence/..., subscriptions/...
  std::string field;                 // presence_field: reported.<field> = true/false; "" = off
  bool delta_on_subscribe = false;   // the current delta to a client that subscribes to it
  ConnectDetection detection = ConnectDetection::kActivity;
  // Connections are tracked (connect and disconnect seen, versions kept).
  bool tracks_connections() const { return lifecycle_events || !field.empty(); }
  bool enabled() const { return tracks_connections() || delta_on_subscribe; }
};

struct PluginConfig {
  StoreKind store = StoreKind::kRocksDb;
  RedisConfig redis;                       // store == kRedisCluster only
  std::string db_path;                     // RocksDB directory (required with rocksdb)
  bool sync_writes = false;                // fsync every write before replying
  uint64_t block_cache_bytes = 32ull << 20;
  // A damaged write-ahead log at start-up: refuse to start (false, the
  // default) or recover up to the damage (wal_recovery point_in_time).
  bool wal_point_in_time = false;
  Config engine;                           // limits and topic forms for the Service
  HttpConfig http;
  AuthzConfig authz;                       // thing binding, admins, rate limit
  PresenceConfig presence;
  // Fleet updates (docs/fleet.md): shadows written per broker loop pass.
  int fleet_update_batch = 50;
  RulesConfig rules;
  // TEST AID, not for production: with sync_writes, append the group
  // commit's sync and ack events to this file (plugin/group_commit.h,
  // SyncTrace). Empty: off.
  std::string debug_sync_log;
};

// One `plugin_opt_KEY VALUE` line, with the "plugin_opt_" prefix removed as
// the broker passes it to the plugin.
using Option = std::pair<std::string, std::string>;

// The configuration, or an invalid-argument error whose one-line message
// names the offending option and says what is valid.
StatusOr<PluginConfig> parse_options(const std::vector<Option>& options);

// "db_path=/var/lib/x sync_writes=false ..." — every option in effect, for
// the start-up log line.
std::string describe(const PluginConfig& config);

}  // namespace shadow::plugin
