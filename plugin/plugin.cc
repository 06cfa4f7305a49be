// The plugin's entry points (Mosquitto plugin API v5). Glue only: options
// become a PluginConfig, the store, the engine and the request pipeline are
// built, callbacks are registered, the REST server is started when
// configured; cleanup undoes it in reverse. Requests themselves flow through
// plugin/runtime/pipeline.h.
//
// Start-up failures (bad option, database cannot be opened) are logged with
// what to do and make plugin_init return non-zero, which makes the broker
// exit instead of running without its shadow service.

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

// Order matters: mosquitto_plugin.h needs mosquitto_plugin_id_t from
// mosquitto_broker.h, which needs MOSQ_* from mosquitto.h. The plugin is
// built with hidden visibility and mosquitto_plugin.h marks nothing for
// export on Linux, so its declarations are wrapped to export the three entry
// points (the linker version script keeps everything else local).
#include <mosquitto.h>
#include <mosquitto_broker.h>
#pragma GCC visibility push(default)
#include <mosquitto_plugin.h>
#pragma GCC visibility pop

#include "common/credentials.h"
#include "plugin/acl_check.h"
#include "plugin/broker_wake.h"
#include "plugin/callbacks.h"
#include "plugin/cluster/cluster_events.h"
#include "plugin/cluster/health_watch.h"
#include "plugin/cluster_hooks.h"
#include "plugin/fleet/fleet_update.h"
#include "plugin/fleet/fleet_update_api.h"
#include "plugin/fleet/history_api.h"
#include "plugin/fleet/history_purge.h"
#include "plugin/fleet/search.h"
#include "plugin/fleet/search_api.h"
#include "plugin/mqtt_adapter.h"
#include "plugin/options/options.h"
#include "plugin/presence_connectivity.h"
#include "plugin/presence_hooks.h"
#include "plugin/rest/api.h"
#include "plugin/rest/server.h"
#include "plugin/rest/unavailable_routes.h"
#include "plugin/rules/api/rules_api.h"
#include "plugin/rules/engine/engine.h"
#include "plugin/rules/engine/registry.h"
#include "plugin/rules/engine/rules_file.h"
#include "plugin/rules/engine/url_policy.h"
#include "plugin/rules/http/http_delivery.h"
#include "plugin/rules_hooks.h"
#include "plugin/runtime/group_commit.h"
#include "plugin/runtime/metrics.h"
#include "plugin/runtime/pipeline.h"
#include "plugin/runtime/rate_limiter.h"
#include "shadow_core/service.h"
#include "store/redis/redis_store.h"
#include "store/rocksdb/rocksdb_store.h"

#ifndef SHADOW_VERSION
#define SHADOW_VERSION "unknown"
#endif

namespace {

using shadow::Status;
using shadow::plugin::AclCheck;
using shadow::plugin::MqttAdapter;
using shadow::plugin::OnFailure;
using shadow::plugin::PluginConfig;
using shadow::plugin::PresenceHooks;
using shadow::plugin::guard;

// Everything the plugin owns; the broker keeps it as the plugin's userdata.
// Members are destroyed in reverse order, which is the order cleanup needs:
// the HTTP server (whose workers use the pipeline, the fleet routes and the
// rules routes) first, then the callbacks (no broker event reaches a dead
// object), the fleet features, the rules engine's http workers, the rules
// engine, the health watch, the durable syncer, the pipeline (its workers),
// the cluster events, the engine, and last the store, which closes the
// database and releases its lock (or its connections to Redis). The cluster
// event subscriber, which feeds the pipeline, is stopped first of all by the
// destructor.
struct PluginContext {
  explicit PluginContext(mosquitto_plugin_id_t* id) : callbacks(id) {}
  ~PluginContext();

  PluginConfig config;
  std::unique_ptr<shadow::RocksDbStore> store;     // plugin_opt_store rocksdb
  std::unique_ptr<shadow::RedisStore> redis;       // plugin_opt_store redis-cluster
  std::unique_ptr<shadow::Service> service;
  shadow::runtime::Metrics metrics;
  std::unique_ptr<shadow::cluster::ClusterEvents> cluster;  // redis-cluster
  std::unique_ptr<shadow::plugin::BrokerWaker> waker;
  std::unique_ptr<shadow::runtime::RateLimiter> limiter;
  std::unique_ptr<shadow::runtime::DurableMode> durable;
  std::unique_ptr<shadow::runtime::Pipeline> pipeline;
  std::unique_ptr<shadow::cluster::HealthWatch> health;  // redis-cluster
  std::unique_ptr<MqttAdapter> mqtt;
  std::unique_ptr<PresenceHooks> presence;  // AclCheck reports to it
  // Fleet search's connectivity.* (when presence tracks connections).
  std::unique_ptr<shadow::plugin::PresenceConnectivity> presence_connectivity;
  std::unique_ptr<AclCheck> acl;
  std::unique_ptr<shadow::plugin::ClusterHooks> cluster_hooks;
  // The rules engine (docs/rules.md), when plugin_opt_rules is true.
  std::unique_ptr<shadow::rules::RuleRegistry> rule_registry;
  shadow::rules::UrlPolicy url_policy;
  std::unique_ptr<shadow::rules::RulesEngine> rules_engine;
  std::unique_ptr<shadow::rules::HttpDelivery> rules_http;
  std::unique_ptr<shadow::plugin::RulesHooks> rules_hooks;
  std::unique_ptr<shadow::rules::RulesApi> rules_api;
  // Fleet search, fleet updates and the shadow history (plugin/fleet).
  std::unique_ptr<shadow::fleet::HistoryPurger> history_purger;
  std::unique_ptr<shadow::fleet::FleetSearch> fleet_search;
  std::unique_ptr<shadow::fleet::SearchApi> search_api;
  std::unique_ptr<shadow::fleet::HistoryApi> history_api;
  std::unique_ptr<shadow::fleet::FleetUpdater> fleet_updater;
  std::unique_ptr<shadow::fleet::FleetUpdateApi> fleet_update_api;
  // The routes of the features above that do not run on this broker.
  std::vector<std::unique_ptr<shadow::rest::UnavailableRoutes>> unavailable_routes;
  shadow::plugin::Callbacks callbacks;
  shadow::auth::CredentialStore credentials;
  std::unique_ptr<shadow::rest::RestApi> rest_api;
  std::unique_ptr<shadow::rest::RestServer> rest_server;
};

PluginContext::~PluginContext() {
  if (cluster) cluster->stop();  // no more events of other brokers into the pipeline
  // The store outlives the pipeline its health listener logs through.
  if (store) store->set_health_listener(nullptr);
  rest_server.reset();  // joins every HTTP thread
  if (rules_http) {
    size_t dropped = rules_http->stop();
    if (dropped > 0) {
      mosquitto_log_printf(MOSQ_LOG_NOTICE, "shadow: rules: %zu http actions still queued were dropped at shutdown",
                           dropped);
    }
  }
  if (durable) {
    // Last fsync of everything applied; held-back publications are dropped:
    // the broker routes nothing during cleanup (group_commit.h).
    size_t held = durable->queue().size();
    durable->stop();
    if (held > 0) {
      mosquitto_log_printf(MOSQ_LOG_NOTICE,
                           "shadow: durable mode: %zu held-back publications dropped at shutdown "
                           "(their writes are durable; the clients got no reply)",
                           held);
    }
  }
}

Status open_store(PluginContext* ctx) {
  shadow::RocksDbOptions db_options;
  db_options.path = ctx->config.db_path;
  // Durable mode does not fsync per write: it fsyncs in batches (group
  // commit, plugin/runtime/group_commit.h) off the broker thread.
  db_options.sync_writes = false;
  db_options.block_cache_bytes = ctx->config.block_cache_bytes;
  db_options.wal_recovery =
      ctx->config.wal_point_in_time ? shadow::WalRecovery::kPointInTime : shadow::WalRecovery::kStrict;
  db_options.tombstone_retention_s = ctx->config.engine.tombstone_retention_s;
  auto opened = shadow::RocksDbStore::open(db_options);
  if (!opened.ok()) return opened.status();
  ctx->store = std::move(opened).value();
  if (!ctx->store->recovery_report().empty()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: %s", ctx->store->recovery_report().c_str());
  }
  return Status::ok();
}

shadow::Store& active_store(PluginContext* ctx) {
  if (ctx->redis) return *ctx->redis;
  return *ctx->store;
}

// A name for this broker process in the events it publishes and in the
// listener sets of the channels it subscribes to, unique among the brokers
// of a cluster: its host, process id and a random number.
std::string make_broker_id() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device rd;
  char tail[32];
  std::snprintf(tail, sizeof tail, "%08x", rd());
  return std::string(host) + "/" + std::to_string(getpid()) + "/" + tail;
}

// plugin_opt_store redis-cluster: the options become RedisStoreOptions. Only
// bad options fail here; a cluster that is down is not a start-up failure
// (start_cluster).
Status open_redis(PluginContext* ctx) {
  const shadow::plugin::RedisConfig& r = ctx->config.redis;
  shadow::RedisStoreOptions o;
  auto nodes = shadow::redis::parse_node_list(r.nodes);
  if (!nodes.ok()) return nodes.status().with_context("plugin_opt_redis_nodes");
  o.cluster.seeds = std::move(nodes).value();
  if (!r.password_file.empty()) {
    auto password = shadow::read_password_file(r.password_file);
    if (!password.ok()) return password.status().with_context("plugin_opt_redis_password_file");
    o.cluster.connection.password = std::move(password).value();
  }
  o.cluster.connection.username = r.user;
  o.cluster.connection.connect_timeout = std::chrono::milliseconds(r.connect_timeout_ms);
  o.cluster.connection.command_timeout = std::chrono::milliseconds(r.command_timeout_ms);
  o.cluster.request_timeout = std::chrono::milliseconds(r.request_timeout_ms);
  o.cluster.tls.enabled = r.tls;
  o.cluster.tls.ca_file = r.tls_ca_file;
  o.cluster.tls.cert_file = r.tls_cert_file;
  o.cluster.tls.key_file = r.tls_key_file;
  o.cluster.tls.server_name = r.tls_server_name;
  // Every worker and HTTP thread may hold a connection to a node at once;
  // keep that many idle rather than reconnecting under load.
  o.cluster.max_idle_per_node = static_cast<size_t>(r.workers + ctx->config.http.threads + 4);
  o.key_prefix = r.key_prefix;
  o.listener_id = make_broker_id();
  o.wait_replicas = r.wait_replicas;
  o.wait_timeout = std::chrono::milliseconds(r.wait_timeout_ms);
  // Tombstones the engine would ignore need not stay in RAM.
  o.tombstone_ttl_s = ctx->config.engine.tombstone_retention_s;
  auto opened = shadow::RedisStore::open(o);
  if (!opened.ok()) return opened.status();
  ctx->redis = std::move(opened).value();
  return Status::ok();
}

// Cluster mode, before the pipeline exists: the events other brokers see.
void prepare_cluster(PluginContext* ctx) {
  shadow::cluster::ClusterEventsOptions options;
  options.short_topics = ctx->config.engine.short_topics;
  shadow::cluster::ClusterEvents::Sinks sinks;
  sinks.event = [ctx](shadow::runtime::RemoteEvent e) { ctx->pipeline->remote_event(std::move(e)); };
  sinks.reset = [ctx](const std::function<bool(std::string_view)>& pred) { ctx->pipeline->order()->reset(pred); };
  sinks.log = [ctx](bool error, std::string line) {
    ctx->pipeline->log_from_worker(error ? shadow::runtime::LogLevel::kError : shadow::runtime::LogLevel::kInfo,
                                   std::move(line));
  };
  ctx->cluster = std::make_unique<shadow::cluster::ClusterEvents>(*ctx->redis, options, std::move(sinks));
  shadow::cluster::ClusterEvents* events = ctx->cluster.get();
  ctx->service->set_commit_event_encoder(
      [events](const shadow::Service::Commit& commit) { return events->encode_commit(commit); });
}

// Cluster mode, once the pipeline runs: the event subscriber and the health
// watch. A cluster that cannot be reached now is logged, not fatal: requests
// are answered 500 and /healthz 503 until it can.
Status start_cluster(PluginContext* ctx) {
  Status st = ctx->cluster->start();
  if (!st.is_ok()) return st.with_context("cannot start the cluster event subscriber");
  shadow::RedisStore* redis = ctx->redis.get();
  shadow::runtime::Pipeline* pipeline = ctx->pipeline.get();
  shadow::cluster::ClusterEvents* events = ctx->cluster.get();
  std::string nodes = ctx->config.redis.nodes;
  ctx->health = std::make_unique<shadow::cluster::HealthWatch>(
      [redis, events] {
        Status s = redis->health();
        return s.is_ok() ? events->health() : s;
      },
      [pipeline, nodes](const Status& now, bool first) {
        using shadow::runtime::LogLevel;
        if (now.is_ok()) {
          pipeline->log_from_worker(LogLevel::kInfo, first ? "the Redis Cluster (" + nodes + ") is reachable and serves every slot"
                                                           : "the Redis Cluster is healthy again; shadow requests are served");
          return;
        }
        pipeline->log_from_worker(
            LogLevel::kError,
            "the Redis Cluster cannot serve every request: " + now.message() +
                ". Shadow requests that need it are answered 500 and /healthz answers 503 until it recovers; "
                "the plugin keeps retrying. Check that the nodes (" + nodes + ") are up and reachable.");
      },
      std::chrono::milliseconds(2000));
  ctx->health->start();
  return Status::ok();
}

// What the operator reads when the database fails or recovers; logged by
// the broker thread (the listener runs on the store's maintenance thread).
void watch_store_health(PluginContext* ctx) {
  shadow::runtime::Pipeline* pipeline = ctx->pipeline.get();
  ctx->store->set_health_listener([pipeline](const shadow::StoreHealthEvent& event) {
    using shadow::runtime::LogLevel;
    if (event.healthy) {
      pipeline->log_from_worker(LogLevel::kNotice, event.detail + "; shadow requests are served again");
      return;
    }
    std::string line = "the shadow database failed: " + event.detail +
                       ". Every shadow request is answered 500 until it recovers; the plugin retries "
                       "in the background and /healthz answers 503 meanwhile.";
    if (event.detail.find("Too many open files") != std::string::npos) {
      line += " The broker ran out of file descriptors: raise its limit (LimitNOFILE, see "
              "docs/operations.md) or lower max_connections.";
    } else if (event.detail.find("No space") != std::string::npos) {
      line += " The disk is full: free space on it.";
    }
    pipeline->log_from_worker(LogLevel::kError, std::move(line));
  });
}

// Each client connection takes a file descriptor, and so do the database's
// files. Debian starts services with a soft limit of 1024.
void check_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= 4096) return;
  mosquitto_log_printf(MOSQ_LOG_NOTICE,
                       "shadow: the broker may open only %llu files and sockets (RLIMIT_NOFILE); every "
                       "client connection takes one and the database up to 300. Raise it for more than "
                       "a few hundred clients (LimitNOFILE in the service, see docs/operations.md)",
                       static_cast<unsigned long long>(limit.rlim_cur));
}

// Durable mode: the syncer thread and the hold-back queue over the store's
// sequence numbers (group_commit.h).
Status start_durable(PluginContext* ctx) {
  std::unique_ptr<shadow::runtime::SyncTrace> trace;
  if (!ctx->config.debug_sync_log.empty()) {
    auto opened = shadow::runtime::SyncTrace::open(ctx->config.debug_sync_log);
    if (!opened.ok()) return opened.status().with_context("plugin_opt_debug_sync_log");
    trace = std::move(opened).value();
  }
  shadow::RocksDbStore* store = ctx->store.get();
  shadow::plugin::BrokerWaker* waker = ctx->waker.get();
  ctx->durable = std::make_unique<shadow::runtime::DurableMode>(
      [store] { return store->latest_sequence(); }, [store] { return store->flush_wal(/*sync=*/true); },
      [waker] {
        if (waker != nullptr) waker->request();
      },
      std::move(trace));
  return Status::ok();
}

// The MQTT side: the pipeline, the adapter and its callbacks, and per-device
// authorization (docs/security.md): the guard against spoofed replies
// always, the ACL callback when wanted.
Status start_mqtt(PluginContext* ctx, bool needs_tick) {
  using shadow::plugin::AclCheck;
  const shadow::plugin::AuthzConfig& authz = ctx->config.authz;
  if (authz.rate_limit_per_thing > 0) {
    ctx->limiter = std::make_unique<shadow::runtime::RateLimiter>(authz.rate_limit_per_thing);
  }
  shadow::runtime::PipelineOptions options;
  options.limiter = ctx->limiter.get();
  options.durable = ctx->durable.get();
  options.wakeup = ctx->waker.get();
  if (ctx->cluster) {
    shadow::runtime::ClusterOptions cluster;
    cluster.workers = ctx->config.redis.workers;
    shadow::cluster::ClusterEvents* events = ctx->cluster.get();
    cluster.share_replies = [events](const shadow::ShadowId& id, const std::vector<shadow::OutMessage>& messages) {
      events->share_replies(id, messages);
    };
    options.cluster = cluster;
  }
  ctx->pipeline = std::make_unique<shadow::runtime::Pipeline>(*ctx->service, ctx->metrics, options);
  if (ctx->cluster) {
    shadow::cluster::ClusterEvents* events = ctx->cluster.get();
    ctx->pipeline->order()->set_listening([events](std::string_view thing) { return events->listening(thing); });
  }
  ctx->mqtt = std::make_unique<MqttAdapter>(*ctx->pipeline, needs_tick);

  Status st = ctx->callbacks.add(MOSQ_EVT_MESSAGE,
                                 guard<MqttAdapter, &MqttAdapter::on_message, OnFailure::kFailOpen>,
                                 ctx->mqtt.get());
  if (!st.is_ok()) return st;
  if (needs_tick) {
    st = ctx->callbacks.add(MOSQ_EVT_TICK, guard<MqttAdapter, &MqttAdapter::on_tick, OnFailure::kFailOpen>,
                            ctx->mqtt.get());
    if (!st.is_ok()) return st;
  }

  if (ctx->cluster) {
    // Ahead of the authorization check, which it defers to.
    ctx->cluster_hooks = std::make_unique<shadow::plugin::ClusterHooks>(*ctx->cluster);
    using shadow::plugin::ClusterHooks;
    st = ctx->callbacks.add(MOSQ_EVT_ACL_CHECK,
                            guard<ClusterHooks, &ClusterHooks::on_acl_check, OnFailure::kFailClosed>,
                            ctx->cluster_hooks.get());
    if (!st.is_ok()) return st;
    st = ctx->callbacks.add(MOSQ_EVT_DISCONNECT,
                            guard<ClusterHooks, &ClusterHooks::on_disconnect, OnFailure::kFailOpen>,
                            ctx->cluster_hooks.get());
    if (!st.is_ok()) return st;
  }

  const shadow::plugin::PresenceConfig& presence = ctx->config.presence;
  if (presence.enabled()) {
    ctx->presence = std::make_unique<PresenceHooks>(ctx->config, *ctx->store, *ctx->pipeline, *ctx->mqtt,
                                                    ctx->waker.get());
    st = ctx->presence->start();
    if (!st.is_ok()) return st;
  }
  ctx->acl = std::make_unique<AclCheck>(authz, ctx->config.engine.short_topics, ctx->metrics);
  if (ctx->presence) ctx->acl->add_observer(ctx->presence.get());
  st = ctx->callbacks.add(MOSQ_EVT_MESSAGE, guard<AclCheck, &AclCheck::on_message, OnFailure::kFailClosed>,
                          ctx->acl.get());
  if (!st.is_ok()) return st;
  if (!authz.acl_check_wanted()) return Status::ok();  // presence needs it: options.cc
  st = ctx->callbacks.add(MOSQ_EVT_ACL_CHECK,
                          guard<AclCheck, &AclCheck::on_acl_check, OnFailure::kFailClosed>,
                          ctx->acl.get());
  if (!st.is_ok()) return st;
  if (presence.tracks_connections()) {
    st = ctx->callbacks.add(MOSQ_EVT_DISCONNECT,
                            guard<PresenceHooks, &PresenceHooks::on_disconnect, OnFailure::kFailOpen>,
                            ctx->presence.get());
    if (!st.is_ok()) return st;
    if (presence.detection == shadow::plugin::ConnectDetection::kConnect) {
      // Answers "defer" whatever happens: it must neither admit nor refuse.
      st = ctx->callbacks.add(MOSQ_EVT_BASIC_AUTH,
                              guard<PresenceHooks, &PresenceHooks::on_basic_auth, OnFailure::kDefer>,
                              ctx->presence.get());
      if (!st.is_ok()) return st;
      mosquitto_log_printf(MOSQ_LOG_NOTICE,
                           "shadow: presence sees each CONNECT through Mosquitto's username/password "
                           "check; clients that send a username are then refused unless a "
                           "password_file or an authentication plugin accepts them (with neither, "
                           "set plugin_opt_connect_detection activity)");
    }
  }
  if (presence.enabled()) {
    st = ctx->callbacks.add(MOSQ_EVT_TICK, guard<PresenceHooks, &PresenceHooks::on_tick, OnFailure::kFailOpen>,
                            ctx->presence.get());
    if (!st.is_ok()) return st;
  }
  if (authz.fallback == shadow::plugin::AclFallback::kDefer) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         "shadow: acl_fallback defer: topics outside the shadow namespaces are "
                         "decided by the broker's acl_file; a broker without an acl_file denies "
                         "them all (set plugin_opt_acl_fallback allow if it has none)");
  }
  return Status::ok();
}

// The rules engine: the rules kept in the store, those of the rules file,
// the http action workers and the broker hooks. Runs after the MQTT side is
// up (its MESSAGE callback must come after the pipeline's and the guard's).
Status start_rules(PluginContext* ctx) {
  using namespace shadow::rules;
  const shadow::plugin::RulesConfig& config = ctx->config.rules;
  auto policy = UrlPolicy::parse(config.http_allow);
  if (!policy.ok()) return policy.status().with_context("plugin_opt_rules_http_allow");
  ctx->url_policy = std::move(policy).value();

  RegistryOptions registry_options;
  registry_options.region = config.region;
  registry_options.account_id = config.account_id;
  const UrlPolicy* url_policy = &ctx->url_policy;
  registry_options.validate = [url_policy](const TopicRulePayload& payload) -> std::optional<RuleError> {
    auto check = [url_policy](const Action& action, const std::string& where) -> std::optional<RuleError> {
      const auto* http = std::get_if<HttpAction>(&action.kind);
      if (http == nullptr) return std::nullopt;
      std::string why = url_policy->check_template(http->url.text());
      if (why.empty()) return std::nullopt;
      return invalid_request("Invalid url in " + where + ": " + why);
    };
    for (size_t i = 0; i < payload.actions.size(); i++) {
      auto e = check(payload.actions[i], "topicRulePayload.actions." + std::to_string(i + 1) + ".member.http.url");
      if (e) return e;
    }
    if (payload.error_action) return check(*payload.error_action, "topicRulePayload.errorAction.http.url");
    return std::nullopt;
  };
  ctx->rule_registry = std::make_unique<RuleRegistry>(*ctx->store, std::move(registry_options));
  std::vector<std::string> skipped;
  Status st = ctx->rule_registry->load(&skipped);
  if (!st.is_ok()) return st.with_context("cannot start the rules engine");
  for (const std::string& line : skipped) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: rules: %s; it is kept in the store but does not run "
                         "(replace it with aws iot replace-topic-rule, or delete it)", line.c_str());
  }

  if (!config.file.empty()) {
    auto definitions = read_rule_definitions(config.file);
    if (!definitions.ok()) return definitions.status().with_context("plugin_opt_rules_file");
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    size_t created = 0, replaced = 0;
    for (const RuleDefinition& d : definitions.value()) {
      auto applied = ctx->rule_registry->apply(d.name, d.payload, now);
      if (!applied.ok()) {
        return Status::invalid_argument("plugin_opt_rules_file: " + d.source + ": rule '" + d.name + "': " +
                                        applied.error().type() + ": " + applied.error().message);
      }
      if (applied.value() == RuleRegistry::Applied::kCreated) created++;
      if (applied.value() == RuleRegistry::Applied::kReplaced) replaced++;
    }
    mosquitto_log_printf(MOSQ_LOG_INFO, "shadow: rules: %s: %zu definitions, %zu rules created, %zu replaced",
                         config.file.c_str(), definitions->size(), created, replaced);
  }

  shadow::runtime::Pipeline* pipeline = ctx->pipeline.get();
  shadow::Service* service = ctx->service.get();
  shadow::plugin::BrokerWaker* waker = ctx->waker.get();
  EngineOptions engine_options;
  engine_options.account_id = config.account_id;
  engine_options.url_policy = ctx->url_policy;
  engine_options.log = [pipeline](shadow::runtime::LogLevel level, std::string line) {
    pipeline->log_from_worker(level, std::move(line));
  };
  engine_options.wake = [waker] {
    if (waker != nullptr) waker->request();
  };
  // get_thing_shadow(): the shadow as GetThingShadow returns it. The engine
  // runs outside every shadow lock, so the service may take its own.
  engine_options.shadow_reader = [service](std::string_view thing, std::string_view shadow,
                                           shadow::json::Value* out, shadow::json::Allocator& alloc) {
    shadow::ServiceRequest request;
    request.channel = shadow::Channel::kRest;
    request.op = shadow::Operation::kGet;
    request.id = shadow::ShadowId{std::string(thing), std::string(shadow)};
    request.now = static_cast<int64_t>(std::time(nullptr));
    shadow::ServiceResponse response = service->handle(request);
    if (!response.ok()) return false;
    shadow::json::Document doc;
    if (!shadow::json::parse(response.body, &doc)) return false;
    out->CopyFrom(doc, alloc);
    return true;
  };
  ctx->rules_engine = std::make_unique<RulesEngine>(*ctx->rule_registry, std::move(engine_options));

  HttpDeliveryOptions http_options;
  http_options.workers = static_cast<size_t>(config.http_workers);
  http_options.queue_limit = config.http_queue;
  ctx->rules_http = std::make_unique<HttpDelivery>(http_options, ctx->url_policy, *ctx->rules_engine);
  st = ctx->rules_http->start();
  if (!st.is_ok()) return st;
  ctx->rules_engine->set_http_sink(ctx->rules_http.get());

  ctx->rules_hooks = std::make_unique<shadow::plugin::RulesHooks>(*ctx->rules_engine, *ctx->pipeline, *ctx->mqtt,
                                                                  ctx->waker.get());
  using shadow::plugin::RulesHooks;
  ctx->mqtt->set_observer(ctx->rules_hooks.get());
  st = ctx->callbacks.add(MOSQ_EVT_MESSAGE, guard<RulesHooks, &RulesHooks::on_message, OnFailure::kFailOpen>,
                          ctx->rules_hooks.get());
  if (!st.is_ok()) return st;
  st = ctx->callbacks.add(MOSQ_EVT_TICK, guard<RulesHooks, &RulesHooks::on_tick, OnFailure::kFailOpen>,
                          ctx->rules_hooks.get());
  if (!st.is_ok()) return st;
  if (ctx->config.authz.acl_check_wanted()) {
    // Last Will messages are seen through the plugin's ACL check.
    ctx->acl->add_observer(ctx->rules_hooks.get());
    st = ctx->callbacks.add(MOSQ_EVT_DISCONNECT, guard<RulesHooks, &RulesHooks::on_disconnect, OnFailure::kFailOpen>,
                            ctx->rules_hooks.get());
    if (!st.is_ok()) return st;
  } else {
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         "shadow: rules: Last Will messages reach rules only through the plugin's ACL check; "
                         "set plugin_opt_acl_fallback (allow without an acl_file) or plugin_opt_thing_identity "
                         "for rules to see them (docs/rules.md)");
  }
  mosquitto_log_printf(MOSQ_LOG_INFO, "shadow: rules engine started: %zu rules", ctx->rule_registry->size());
  return Status::ok();
}

// The fleet routes (search, history, fleet updates) on the REST API, and the
// TICK that runs fleet updates. Fleet updates resume here after a restart.
// The connectivity.* fields of search come from the presence records when
// presence tracks connections; otherwise they are absent (docs/fleet.md).
Status start_fleet(PluginContext* ctx) {
  shadow::fleet::ConnectivitySource* connectivity = nullptr;
  if (ctx->config.presence.tracks_connections()) {
    ctx->presence_connectivity = std::make_unique<shadow::plugin::PresenceConnectivity>(*ctx->store);
    connectivity = ctx->presence_connectivity.get();
  }
  ctx->fleet_search = std::make_unique<shadow::fleet::FleetSearch>(*ctx->store, connectivity);
  ctx->search_api = std::make_unique<shadow::fleet::SearchApi>(*ctx->fleet_search, *ctx->pipeline);
  ctx->history_api = std::make_unique<shadow::fleet::HistoryApi>(*ctx->pipeline);
  ctx->fleet_updater = std::make_unique<shadow::fleet::FleetUpdater>(
      *ctx->store, *ctx->pipeline, *ctx->mqtt, ctx->waker.get(), connectivity, ctx->config.fleet_update_batch);
  Status st = ctx->fleet_updater->load();
  if (!st.is_ok()) return st;
  ctx->fleet_update_api = std::make_unique<shadow::fleet::FleetUpdateApi>(*ctx->fleet_updater);
  ctx->rest_api->add_extension(ctx->search_api.get());
  ctx->rest_api->add_extension(ctx->history_api.get());
  ctx->rest_api->add_extension(ctx->fleet_update_api.get());
  return ctx->callbacks.add(
      MOSQ_EVT_TICK,
      guard<shadow::fleet::FleetUpdater, &shadow::fleet::FleetUpdater::on_tick, OnFailure::kFailOpen>,
      ctx->fleet_updater.get());
}

// Answers the routes of a feature that does not run on this broker with
// `reason` instead of a bare 404 (rest::UnavailableRoutes).
void add_unavailable_routes(PluginContext* ctx, std::vector<shadow::rest::UnavailableRoutes::PathMatcher> matchers,
                            std::string reason) {
  ctx->unavailable_routes.push_back(std::make_unique<shadow::rest::UnavailableRoutes>(
      std::move(matchers), std::vector<std::string>{"execute-api", "iotdata", "iotdevicegateway"},
      std::move(reason)));
  ctx->rest_api->add_extension(ctx->unavailable_routes.back().get());
}

// Loads the credentials and starts the HTTP server. Runs after the MQTT
// side is up.
Status start_rest(PluginContext* ctx) {
  const shadow::plugin::HttpConfig& http = ctx->config.http;
  shadow::rest::RestApiOptions api_options;
  api_options.metrics_auth = http.metrics_auth;
  if (http.auth_sigv4) {
    auto loaded = shadow::auth::load_credentials_file(http.credentials_file);
    if (!loaded.ok()) return loaded.status().with_context("plugin_opt_http_credentials_file");
    if (loaded->readable_by_others) {
      mosquitto_log_printf(MOSQ_LOG_WARNING,
                           "shadow: the REST credentials file %s is readable by other users; "
                           "it holds secret keys: chmod 600 it",
                           http.credentials_file.c_str());
    }
    if (loaded->store.size() == 0) {
      mosquitto_log_printf(MOSQ_LOG_WARNING,
                           "shadow: the REST credentials file %s holds no keys: every REST "
                           "request will be refused",
                           http.credentials_file.c_str());
    }
    ctx->credentials = std::move(loaded->store);
    api_options.credentials = &ctx->credentials;
  } else {
    mosquitto_log_printf(MOSQ_LOG_WARNING,
                         "shadow: plugin_opt_http_auth none: the REST API on %s:%d accepts "
                         "requests WITHOUT authentication; use this for local development only",
                         http.host.c_str(), http.port);
  }

  shadow::rest::RestApi::GaugeSource gauges;
  if (ctx->cluster) {
    shadow::cluster::HealthWatch* health = ctx->health.get();
    api_options.health = [health] { return health->current(); };
    shadow::cluster::ClusterEvents* events = ctx->cluster.get();
    shadow::runtime::Pipeline* pipeline = ctx->pipeline.get();
    gauges = [events, pipeline] {
      shadow::runtime::Metrics::Gauges g;
      g.extra = events->metrics_text(pipeline->order()->counters());
      return g;
    };
  } else {
    shadow::RocksDbStore* store = ctx->store.get();
    api_options.health = [store] { return store->health(); };
    gauges = [store] {
      shadow::runtime::Metrics::Gauges g;
      g.shadows_estimate = store->count_estimate();
      g.db_size_bytes = store->approximate_size_bytes();
      return g;
    };
  }
  ctx->rest_api = std::make_unique<shadow::rest::RestApi>(*ctx->pipeline, ctx->metrics, gauges, api_options);
  if (ctx->rules_engine) {
    // aws iot ... topic rules, signed as execute-api; their counters on /metrics.
    ctx->rules_api = std::make_unique<shadow::rules::RulesApi>(*ctx->rule_registry);
    ctx->rest_api->add_extension(ctx->rules_api.get());
    shadow::rules::RulesEngine* engine = ctx->rules_engine.get();
    ctx->rest_api->add_metrics_source([engine] { return engine->render_metrics(); });
  } else {
    add_unavailable_routes(ctx, {&shadow::rules::RulesApi::serves_path},
                           ctx->cluster ? "topic rules are not available with plugin_opt_store redis-cluster yet: "
                                          "the rules engine runs on a broker with plugin_opt_store rocksdb "
                                          "(docs/scale-out.md)"
                                        : "topic rules are off on this broker: set plugin_opt_rules true in its "
                                          "configuration to manage and run them (docs/rules.md)");
  }

  // Fleet search, fleet updates and the history use the RocksDB store and
  // the broker thread; not in cluster mode yet (docs/scale-out.md).
  if (!ctx->cluster) {
    Status st = start_fleet(ctx);
    if (!st.is_ok()) return st;
  } else {
    add_unavailable_routes(ctx,
                           {&shadow::fleet::SearchApi::serves_path, &shadow::fleet::FleetUpdateApi::serves_path,
                            &shadow::fleet::HistoryApi::serves_path},
                           "fleet search, fleet updates and the shadow history are not available with "
                           "plugin_opt_store redis-cluster yet: use a broker with plugin_opt_store rocksdb "
                           "(docs/scale-out.md)");
  }

  shadow::rest::RestServerOptions server_options;
  server_options.host = http.host;
  server_options.port = http.port;
  server_options.threads = http.threads;
  server_options.tls_cert = http.tls_cert;
  server_options.tls_key = http.tls_key;
  server_options.max_body_bytes = ctx->config.engine.max_payload_bytes;
  server_options.max_header_bytes = static_cast<size_t>(http.max_header_bytes);
  server_options.max_connections = static_cast<size_t>(http.max_connections);
  server_options.max_connections_per_ip = static_cast<size_t>(http.max_connections_per_ip);
  server_options.head_timeout = std::chrono::seconds(http.head_timeout_s);
  server_options.metrics = &ctx->metrics;
  // Every HTTP connection is a file descriptor; so are MQTT clients and
  // RocksDB's files. Running out makes accept() fail for all of them.
  constexpr rlim_t kReserve = 256;
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
      files.rlim_cur < static_cast<rlim_t>(http.max_connections) + kReserve) {
    mosquitto_log_printf(MOSQ_LOG_WARNING,
                         "shadow: the open-file limit (%llu) leaves little room beyond "
                         "plugin_opt_http_max_connections (%d) for MQTT clients and the "
                         "database; raise it (LimitNOFILE= in the broker's systemd unit, "
                         "ulimit -n) or lower plugin_opt_http_max_connections",
                         static_cast<unsigned long long>(files.rlim_cur), http.max_connections);
  }
  auto started = shadow::rest::RestServer::start(server_options, *ctx->rest_api);
  if (!started.ok()) return started.status();
  ctx->rest_server = std::move(started).value();
  mosquitto_log_printf(MOSQ_LOG_INFO, "shadow: REST API listening on %s://%s:%d",
                       http.tls() ? "https" : "http", http.host.c_str(), http.port);
  return Status::ok();
}

Status init(PluginContext* ctx, mosquitto_opt* opts, int opt_count) {
  std::vector<shadow::plugin::Option> options;
  for (int i = 0; i < opt_count; i++) {
    options.emplace_back(opts[i].key ? opts[i].key : "", opts[i].value ? opts[i].value : "");
  }
  auto parsed = shadow::plugin::parse_options(options);
  if (!parsed.ok()) return parsed.status();
  ctx->config = std::move(parsed).value();

  check_descriptor_limit();
  const bool cluster_mode = ctx->config.store == shadow::plugin::StoreKind::kRedisCluster;
  Status st = cluster_mode ? open_redis(ctx) : open_store(ctx);
  if (!st.is_ok()) return st.with_context("cannot start");
  ctx->service = std::make_unique<shadow::Service>(ctx->config.engine, active_store(ctx));
  if (cluster_mode) prepare_cluster(ctx);

  // TICK publishes what other threads handed over: REST-caused messages, in
  // durable mode the replies whose fsync has completed, in cluster mode
  // every answer and event. The history purge runs on TICK too, presence
  // works at the end of each loop pass, and the rules engine takes its
  // inputs and sends its republishes there.
  const bool needs_tick = ctx->config.http.enabled() || ctx->config.sync_writes ||
                          ctx->config.engine.history_versions > 0 || ctx->config.presence.enabled() ||
                          cluster_mode || ctx->config.rules.enabled;
  if (needs_tick) {
    auto waker = std::make_unique<shadow::plugin::BrokerWaker>();
    Status started = waker->start();
    if (started.is_ok()) {
      ctx->waker = std::move(waker);
    } else {
      mosquitto_log_printf(MOSQ_LOG_WARNING,
                           "shadow: cannot wake the broker loop (%s): MQTT messages caused by "
                           "REST requests, and durable-mode replies, may wait up to 100 ms",
                           started.message().c_str());
    }
  }
  if (ctx->config.sync_writes) {
    st = start_durable(ctx);
    if (!st.is_ok()) return st.with_context("cannot start durable mode");
  } else if (!ctx->config.debug_sync_log.empty()) {
    mosquitto_log_printf(MOSQ_LOG_WARNING,
                         "shadow: plugin_opt_debug_sync_log has no effect without "
                         "plugin_opt_sync_writes true");
  }
  st = start_mqtt(ctx, needs_tick);
  if (!st.is_ok()) return st;
  if (cluster_mode) {
    st = start_cluster(ctx);
    if (!st.is_ok()) return st;
  } else {
    if (needs_tick) {
      // Whether or not history is on now: it may have been before.
      ctx->history_purger = std::make_unique<shadow::fleet::HistoryPurger>(*ctx->service, *ctx->mqtt);
      st = ctx->callbacks.add(
          MOSQ_EVT_TICK,
          guard<shadow::fleet::HistoryPurger, &shadow::fleet::HistoryPurger::on_tick, OnFailure::kFailOpen>,
          ctx->history_purger.get());
      if (!st.is_ok()) return st;
    }
    watch_store_health(ctx);
  }
  if (ctx->config.rules.enabled && cluster_mode) {
    // The rules engine runs pipeline requests on the broker thread and keeps
    // its rules per broker: not in cluster mode yet (docs/rules.md).
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         "shadow: rules: the rules engine does not run with plugin_opt_store redis-cluster "
                         "yet; topic rules are off on this broker (docs/rules.md)");
  } else if (ctx->config.rules.enabled) {
    st = start_rules(ctx);
    if (!st.is_ok()) return st;
  }
  if (ctx->config.http.enabled()) {
    st = start_rest(ctx);
    if (!st.is_ok()) return st.with_context("cannot start the REST API");
  }

  mosquitto_log_printf(MOSQ_LOG_INFO, "shadow: mosquitto-shadow %s started: %s", SHADOW_VERSION,
                       shadow::plugin::describe(ctx->config).c_str());
  if (ctx->config.sync_writes) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         "shadow: durable mode (sync_writes true): replies and events are sent "
                         "once a group-commit fsync of the write-ahead log covers their write; "
                         "the broker thread never waits for the disk");
  }
  if (ctx->durable && ctx->durable->trace() != nullptr) {
    mosquitto_log_printf(MOSQ_LOG_WARNING,
                         "shadow: plugin_opt_debug_sync_log is on (%s): a test aid that writes "
                         "a line per reply; do not use it in production",
                         ctx->config.debug_sync_log.c_str());
  }
  return Status::ok();
}

}  // namespace

extern "C" int mosquitto_plugin_version(int supported_version_count,
                                        const int* supported_versions) {
  for (int i = 0; i < supported_version_count; i++) {
    if (supported_versions[i] == 5) return 5;
  }
  return -1;
}

extern "C" int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** user_data,
                                     mosquitto_opt* opts, int opt_count) {
  try {
    // Threads started here (RocksDB's, the REST server's, the waker) must
    // not take the signals the broker handles on its main thread.
    shadow::plugin::ScopedSignalBlock block_signals;
    auto ctx = std::make_unique<PluginContext>(identifier);
    Status st = init(ctx.get(), opts, opt_count);
    if (!st.is_ok()) {
      // ctx's destructor undoes the partial start-up.
      mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: %s", st.message().c_str());
      return st.code() == Status::Code::kInvalidArgument ? MOSQ_ERR_INVAL : MOSQ_ERR_UNKNOWN;
    }
    *user_data = ctx.release();
    return MOSQ_ERR_SUCCESS;
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: start-up failed: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: start-up failed");
  }
  return MOSQ_ERR_UNKNOWN;
}

extern "C" int mosquitto_plugin_cleanup(void* user_data, mosquitto_opt* /*opts*/,
                                        int /*opt_count*/) {
  auto* ctx = static_cast<PluginContext*>(user_data);
  if (ctx != nullptr) {
    delete ctx;
    mosquitto_log_printf(MOSQ_LOG_INFO, "shadow: stopped");
  }
  return MOSQ_ERR_SUCCESS;
}
