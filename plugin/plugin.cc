// The plugin's entry points (Mosquitto plugin API v5). Glue only: options
// become a PluginConfig, the store and service are built, callbacks are
// registered; cleanup undoes it in reverse. The MQTT work is in
// mqtt_adapter.cc.
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

#include "plugin/mqtt_adapter.h"
#include "plugin/options.h"
#include "shadow_core/service.h"
#include "store/rocksdb_store.h"

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
  std::unique_ptr<MqttAdapter> mqtt;
  bool message_registered = false;

  // Reverse order of construction: no callback may run on a dead service.
  ~PluginContext() {
    if (message_registered) {
      mosquitto_callback_unregister(id, MOSQ_EVT_MESSAGE, MqttAdapter::on_message_callback,
                                    nullptr);
    }
    mqtt.reset();
    service.reset();
    store.reset();  // closes the database and releases its lock
  }
};

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
  db_options.sync_writes = ctx->config.sync_writes;
  db_options.block_cache_bytes = ctx->config.block_cache_bytes;
  shadow::StoreStatus st = shadow::RocksDbStore::open(db_options, &ctx->store);
  if (!st.is_ok()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cannot start: %s",
                         st.message.c_str());
    return MOSQ_ERR_UNKNOWN;
  }

  ctx->service = std::make_unique<shadow::Service>(ctx->config.engine, *ctx->store);
  ctx->mqtt = std::make_unique<MqttAdapter>(*ctx->service);

  int rc = mosquitto_callback_register(ctx->id, MOSQ_EVT_MESSAGE,
                                       MqttAdapter::on_message_callback, nullptr, ctx->mqtt.get());
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "shadow: cannot register the message callback (error %d)",
                         rc);
    return rc;
  }
  ctx->message_registered = true;

  mosquitto_log_printf(MOSQ_LOG_INFO, "shadow: mosquitto-shadow %s started: %s", SHADOW_VERSION,
                       shadow::plugin::describe(ctx->config).c_str());
  if (ctx->config.sync_writes) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         "shadow: sync_writes is on: every shadow write waits for an fsync on "
                         "the broker thread, which slows all clients of this broker");
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
