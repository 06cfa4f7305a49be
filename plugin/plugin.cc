// The plugin's entry points (Mosquitto plugin API v5). Glue only: options
// become a PluginConfig, the store and service are built, callbacks are
// registered, the REST server is started when configured; cleanup undoes it
// in reverse. The MQTT work is in mqtt_adapter.cc, the REST API in
// plugin/rest/.
//
// Start-up failures (bad option, database cannot be opened) are logged with
// what to do and make plugin_init return non-zero, which makes the broker
// exit instead of running without its shadow service.

#include <memory>
#include <string>
#include <variant>
#include <vector>

// Order matters (research §11): mosquitto_plugin.h needs mosquitto_plugin_id_t
// from mosquitto_broker.h, which needs MOSQ_* from mosquitto.h. The plugin is
// built with hidden visibility and mosquitto_plugin.h marks nothing for
// export on Linux, so its declarations are wrapped to export the three entry
// points (the linker version script keeps everything else local).
#include <mosquitto.h>
#include <mosquitto_broker.h>
#pragma GCC visibility push(default)
#include <mosquitto_plugin.h>
#pragma GCC visibility pop

#include "plugin/acl_check.h"
#include "plugin/broker_wake.h"
#include "common/credentials.h"
#include "plugin/runtime/group_commit.h"
#include "plugin/runtime/metrics.h"
#include "plugin/mqtt_adapter.h"
#include "plugin/options/options.h"
#include "plugin/runtime/publish_queue.h"
#include "plugin/runtime/rate_limiter.h"
#include "plugin/rest/api.h"
#include "plugin/rest/server.h"
#include "shadow_core/service.h"
#include "store/rocksdb/rocksdb_store.h"

#ifndef SHADOW_VERSION
#define SHADOW_VERSION "unknown"
#endif

namespace {

using shadow::plugin::MqttAdapter;
using shadow::plugin::PluginConfig;

// Everything the plugin owns; the broker keeps it as the plugin's userdata.
struct PluginContext {
  mosquitto_plugin_id_t* id = nullptr;
  PluginConfig config;
  std::unique_ptr<shadow::RocksDbStore> store;
  std::unique_ptr<shadow::Service> service;
  shadow::plugin::PublishQueue queue;
  shadow::plugin::OrderingLocks locks;
  shadow::plugin::Metrics metrics;
  std::unique_ptr<shadow::plugin::BrokerWaker> waker;
  std::unique_ptr<shadow::plugin::DurableMode> durable;  // sync_writes true
  std::unique_ptr<MqttAdapter> mqtt;
  bool message_registered = false;
  bool tick_registered = false;
  std::unique_ptr<shadow::plugin::RateLimiter> limiter;
  std::unique_ptr<shadow::plugin::AclCheck> acl;
  bool guard_registered = false;
  bool acl_registered = false;
  shadow::rest::CredentialStore credentials;
  std::unique_ptr<shadow::rest::RestApi> rest_api;
  std::unique_ptr<shadow::rest::RestServer> rest_server;

  // Reverse order of construction: no callback or HTTP worker may run on a
  // dead service. The server goes first: its workers push to the queue.
  ~PluginContext() {
    rest_server.reset();  // joins every HTTP thread
    rest_api.reset();
    if (tick_registered) {
      mosquitto_callback_unregister(id, MOSQ_EVT_TICK, MqttAdapter::on_tick_callback, nullptr);
    }
    if (message_registered) {
      mosquitto_callback_unregister(id, MOSQ_EVT_MESSAGE, MqttAdapter::on_message_callback,
                                    nullptr);
    }
    using shadow::plugin::AclCheck;
    if (acl_registered) {
      mosquitto_callback_unregister(id, MOSQ_EVT_ACL_CHECK, AclCheck::on_acl_check_callback, nullptr);
    }
    if (guard_registered) {
      mosquitto_callback_unregister(id, MOSQ_EVT_MESSAGE, AclCheck::on_message_callback, nullptr);
    }
    acl.reset();
    if (durable) {
      // Last fsync of everything applied; held-back publications are
      // dropped: the broker routes nothing during cleanup (group_commit.h).
      size_t held = durable->queue().size();
      durable->stop();
      if (held > 0) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "shadow: durable mode: %zu held-back publications dropped at shutdown "
                             "(their writes are durable; the clients got no reply)",
                             held);
      }
    }
    mqtt.reset();
    durable.reset();  // after the adapter that points to it, before the waker and store it uses
    limiter.reset();
    waker.reset();
    service.reset();
    store.reset();  // closes the database and releases its lock
  }
};

// Per-device authorization (docs/security.md): the guard against spoofed
// replies always, the ACL callback when wanted, and the rate limit. Returns
// a MOSQ_ERR_* code.
int start_authz(PluginContext* ctx) {
  using shadow::plugin::AclCheck;
  const shadow::plugin::AuthzConfig& authz = ctx->config.authz;
  if (authz.rate_limit_per_thing > 0) {
    ctx->limiter = std::make_unique<shadow::plugin::RateLimiter>(authz.rate_limit_per_thing);
    ctx->mqtt->set_rate_limiter(ctx->limiter.get());
  }
  ctx->acl = std::make_unique<AclCheck>(authz, ctx->config.engine.short_topics, ctx->metrics);
  int rc = mosquitto_callback_register(ctx->id, MOSQ_EVT_MESSAGE, AclCheck::on_message_callback,
                                       nullptr, ctx->acl.get());
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cannot register the reply guard (error %d)", rc);
    return rc;
  }
  ctx->guard_registered = true;
  if (!authz.acl_check_wanted()) return MOSQ_ERR_SUCCESS;
  rc = mosquitto_callback_register(ctx->id, MOSQ_EVT_ACL_CHECK, AclCheck::on_acl_check_callback,
                                   nullptr, ctx->acl.get());
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cannot register the ACL check (error %d)", rc);
    return rc;
  }
  ctx->acl_registered = true;
  if (authz.fallback == shadow::plugin::AclFallback::kDefer) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         "shadow: acl_fallback defer: topics outside the shadow namespaces are "
                         "decided by the broker's acl_file; a broker without an acl_file denies "
                         "them all (set plugin_opt_acl_fallback allow if it has none)");
  }
  return MOSQ_ERR_SUCCESS;
}

// Durable mode: the syncer thread and the hold-back queue over the store's
// sequence numbers (group_commit.h). Returns an error message or "".
std::string start_durable(PluginContext* ctx) {
  std::unique_ptr<shadow::plugin::SyncTrace> trace;
  if (!ctx->config.debug_sync_log.empty()) {
    std::string err;
    trace = shadow::plugin::SyncTrace::open(ctx->config.debug_sync_log, &err);
    if (!trace) return err + " (plugin_opt_debug_sync_log)";
  }
  shadow::RocksDbStore* store = ctx->store.get();
  shadow::plugin::BrokerWaker* waker = ctx->waker.get();
  ctx->durable = std::make_unique<shadow::plugin::DurableMode>(
      [store] { return store->latest_sequence(); },
      [store] {
        shadow::StoreStatus st = store->flush_wal(/*sync=*/true);
        return st.is_ok() ? std::string() : st.message;
      },
      [waker] {
        if (waker != nullptr) waker->request();
      },
      std::move(trace));
  return "";
}

// Loads the credentials, starts the wake-up and the HTTP server. Runs after
// the MQTT side is up; returns an error message or "".
std::string start_rest(PluginContext* ctx) {
  const shadow::plugin::HttpConfig& http = ctx->config.http;
  shadow::rest::RestApiOptions api_options;
  api_options.metrics_auth = http.metrics_auth;
  api_options.durable = ctx->durable.get();
  api_options.limiter = ctx->limiter.get();  // the same buckets as MQTT; null when off
  if (http.auth_sigv4) {
    auto loaded = shadow::rest::load_credentials_file(http.credentials_file);
    if (auto* error = std::get_if<std::string>(&loaded)) {
      return *error + " (plugin_opt_http_credentials_file)";
    }
    auto& creds = std::get<shadow::rest::LoadedCredentials>(loaded);
    if (creds.readable_by_others) {
      mosquitto_log_printf(MOSQ_LOG_WARNING,
                           "shadow: the REST credentials file %s is readable by other users; "
                           "it holds secret keys: chmod 600 it",
                           http.credentials_file.c_str());
    }
    if (creds.store.size() == 0) {
      mosquitto_log_printf(MOSQ_LOG_WARNING,
                           "shadow: the REST credentials file %s holds no keys: every REST "
                           "request will be refused",
                           http.credentials_file.c_str());
    }
    ctx->credentials = std::move(creds.store);
    api_options.credentials = &ctx->credentials;
  } else {
    mosquitto_log_printf(MOSQ_LOG_WARNING,
                         "shadow: plugin_opt_http_auth none: the REST API on %s:%d accepts "
                         "requests WITHOUT authentication; use this for local development only",
                         http.host.c_str(), http.port);
  }

  shadow::RocksDbStore* store = ctx->store.get();
  ctx->rest_api = std::make_unique<shadow::rest::RestApi>(
      *ctx->service, ctx->queue, ctx->locks, ctx->metrics,
      [store] {
        shadow::plugin::Metrics::Gauges g;
        g.shadows_estimate = store->count_estimate();
        g.db_size_bytes = store->approximate_size_bytes();
        return g;
      },
      api_options);

  shadow::rest::RestServerOptions server_options;
  server_options.host = http.host;
  server_options.port = http.port;
  server_options.threads = http.threads;
  server_options.tls_cert = http.tls_cert;
  server_options.tls_key = http.tls_key;
  server_options.max_body_bytes = ctx->config.engine.max_payload_bytes;
  auto started = shadow::rest::RestServer::start(server_options, *ctx->rest_api);
  if (auto* error = std::get_if<std::string>(&started)) return *error;
  ctx->rest_server = std::get<std::unique_ptr<shadow::rest::RestServer>>(std::move(started));
  mosquitto_log_printf(MOSQ_LOG_INFO, "shadow: REST API listening on %s://%s:%d",
                       http.tls() ? "https" : "http", http.host.c_str(), http.port);
  return "";
}

int init(PluginContext* ctx, mosquitto_opt* opts, int opt_count) {
  std::vector<shadow::plugin::Option> options;
  for (int i = 0; i < opt_count; i++) {
    options.emplace_back(opts[i].key ? opts[i].key : "", opts[i].value ? opts[i].value : "");
  }
  auto parsed = shadow::plugin::parse_options(options);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: %s", error->c_str());
    return MOSQ_ERR_INVAL;
  }
  ctx->config = std::get<PluginConfig>(std::move(parsed));

  shadow::RocksDbOptions db_options;
  db_options.path = ctx->config.db_path;
  // Durable mode does not fsync per write: it fsyncs in batches (group
  // commit, plugin/group_commit.h) off the broker thread.
  db_options.sync_writes = false;
  db_options.block_cache_bytes = ctx->config.block_cache_bytes;
  shadow::StoreStatus st = shadow::RocksDbStore::open(db_options, &ctx->store);
  if (!st.is_ok()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cannot start: %s",
                         st.message.c_str());
    return MOSQ_ERR_UNKNOWN;
  }

  ctx->service = std::make_unique<shadow::Service>(ctx->config.engine, *ctx->store);

  // TICK publishes what other threads handed over: REST-caused messages, and
  // in durable mode the replies whose fsync has completed.
  const bool needs_tick = ctx->config.http.enabled() || ctx->config.sync_writes;
  if (needs_tick) {
    auto waker = std::make_unique<shadow::plugin::BrokerWaker>();
    std::string err = waker->start();
    if (err.empty()) {
      ctx->waker = std::move(waker);
    } else {
      mosquitto_log_printf(MOSQ_LOG_WARNING,
                           "shadow: cannot wake the broker loop (%s): MQTT messages caused by "
                           "REST requests, and durable-mode replies, may wait up to 100 ms",
                           err.c_str());
    }
  }
  ctx->mqtt = std::make_unique<MqttAdapter>(*ctx->service, ctx->queue, ctx->locks, ctx->metrics,
                                            ctx->waker.get());
  if (ctx->waker) {
    shadow::plugin::BrokerWaker* waker = ctx->waker.get();
    ctx->queue.set_wake([waker] { waker->request(); });
  }
  if (ctx->config.sync_writes) {
    std::string err = start_durable(ctx);
    if (!err.empty()) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cannot start durable mode: %s", err.c_str());
      return MOSQ_ERR_INVAL;
    }
    ctx->mqtt->set_durable(ctx->durable.get());
  } else if (!ctx->config.debug_sync_log.empty()) {
    mosquitto_log_printf(MOSQ_LOG_WARNING,
                         "shadow: plugin_opt_debug_sync_log has no effect without "
                         "plugin_opt_sync_writes true");
  }

  int rc = mosquitto_callback_register(ctx->id, MOSQ_EVT_MESSAGE,
                                       MqttAdapter::on_message_callback, nullptr, ctx->mqtt.get());
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cannot register the message callback (error %d)",
                         rc);
    return rc;
  }
  ctx->message_registered = true;
  rc = start_authz(ctx);
  if (rc != MOSQ_ERR_SUCCESS) return rc;

  if (needs_tick) {
    rc = mosquitto_callback_register(ctx->id, MOSQ_EVT_TICK, MqttAdapter::on_tick_callback,
                                     nullptr, ctx->mqtt.get());
    if (rc != MOSQ_ERR_SUCCESS) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cannot register the tick callback (error %d)",
                           rc);
      return rc;
    }
    ctx->tick_registered = true;
  }
  if (ctx->config.http.enabled()) {
    std::string err = start_rest(ctx);
    if (!err.empty()) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cannot start the REST API: %s", err.c_str());
      return MOSQ_ERR_INVAL;
    }
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
  return MOSQ_ERR_SUCCESS;
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
    auto ctx = std::make_unique<PluginContext>();
    ctx->id = identifier;
    int rc = init(ctx.get(), opts, opt_count);
    if (rc != MOSQ_ERR_SUCCESS) return rc;  // ctx's destructor undoes the partial init
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
