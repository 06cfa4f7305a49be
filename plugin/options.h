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
#include <variant>
#include <vector>

#include "shadow_core/config.h"

namespace shadow::plugin {

struct PluginConfig {
  std::string db_path;                     // RocksDB directory (required)
  bool sync_writes = false;                // fsync every write before replying
  uint64_t block_cache_bytes = 32ull << 20;
  Config engine;                           // limits and topic forms for the Service
};

// One `plugin_opt_KEY VALUE` line, with the "plugin_opt_" prefix removed as
// the broker passes it to the plugin.
using Option = std::pair<std::string, std::string>;

// Either the configuration, or a one-line message naming the offending
// option and saying what is valid.
using ParseResult = std::variant<PluginConfig, std::string>;

ParseResult parse_options(const std::vector<Option>& options);

// "db_path=/var/lib/x sync_writes=false ..." — every option in effect, for
// the start-up log line.
std::string describe(const PluginConfig& config);

}  // namespace shadow::plugin
