#include "plugin/options.h"

#include <charconv>
#include <limits>
#include <set>
#include <string_view>

namespace shadow::plugin {
namespace {

constexpr const char* kKnownOptions =
    "db_path, sync_writes, short_topics, event_topics, max_document_bytes, max_depth, "
    "max_payload_bytes, tombstone_retention_s, block_cache_mb, tombstone_bumps_version, "
    "delta_on_unchanged, documents_previous, error_timestamp, reserved_shadow_names, "
    "invalid_json_message, null_in_array_message";

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
};

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  size_t last = s.find_last_not_of(ws);
  return s.substr(first, last - first + 1);
}

std::string invalid(std::string_view key, std::string_view value, std::string_view expected) {
  std::string m = "plugin_opt_";
  m.append(key).append(": '").append(value).append("' is not valid; expected ").append(expected);
  return m;
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

const BoolChoice* find_bool_choice(std::string_view key) {
  for (const BoolChoice& c : kBoolChoices)
    if (key == c.key) return &c;
  return nullptr;
}

// Applies one option to *config; returns an error message or "".
std::string apply(std::string_view key, std::string_view value, PluginConfig* config) {
  auto integer = [&](int64_t min, int64_t max, int64_t* out) -> std::string {
    return parse_int(value, min, max, out) ? "" : invalid(key, value, range_text(min, max));
  };
  int64_t n = 0;
  std::string err;

  if (key == "db_path") {
    if (value.empty()) return invalid(key, value, "a directory path");
    config->db_path = std::string(value);
  } else if (key == "sync_writes") {
    if (!parse_bool(value, &config->sync_writes)) return invalid(key, value, "true or false");
  } else if (key == "short_topics") {
    if (!parse_bool(value, &config->engine.short_topics)) return invalid(key, value, "true or false");
  } else if (key == "event_topics") {
    if (value == "both") config->engine.event_topics = EventTopics::kBoth;
    else if (value == "aws") config->engine.event_topics = EventTopics::kAws;
    else if (value == "short") config->engine.event_topics = EventTopics::kShort;
    else return invalid(key, value, "both, aws or short");
  } else if (key == "max_document_bytes") {
    if (!(err = integer(1, 16 << 20, &n)).empty()) return err;
    config->engine.max_document_bytes = static_cast<size_t>(n);
  } else if (key == "max_depth") {
    if (!(err = integer(1, 64, &n)).empty()) return err;
    config->engine.max_depth = static_cast<int>(n);
  } else if (key == "max_payload_bytes") {
    // 268435455 is the largest MQTT packet the protocol can describe.
    if (!(err = integer(1, 268435455, &n)).empty()) return err;
    config->engine.max_payload_bytes = static_cast<size_t>(n);
  } else if (key == "tombstone_retention_s") {
    if (!(err = integer(0, std::numeric_limits<int64_t>::max(), &n)).empty()) return err;
    config->engine.tombstone_retention_s = n;
  } else if (key == "block_cache_mb") {
    if (!(err = integer(0, 1 << 20, &n)).empty()) return err;
    config->block_cache_bytes = static_cast<uint64_t>(n) << 20;
  } else if (key == "documents_previous") {
    if (value == "null") config->engine.documents_previous_null = true;
    else if (value == "omit") config->engine.documents_previous_null = false;
    else return invalid(key, value, "null or omit");
  } else if (key == "invalid_json_message" || key == "null_in_array_message") {
    if (value.empty()) return invalid(key, value, "a non-empty message");
    (key == "invalid_json_message" ? config->engine.invalid_json_message
                                   : config->engine.null_in_array_message) = std::string(value);
  } else if (const BoolChoice* choice = find_bool_choice(key)) {
    if (!parse_bool(value, &(config->engine.*(choice->field)))) return invalid(key, value, "true or false");
  } else {
    std::string m = "unknown option plugin_opt_";
    m.append(key).append("; valid options are: ").append(kKnownOptions);
    return m;
  }
  return "";
}

const char* event_topics_name(EventTopics e) {
  switch (e) {
    case EventTopics::kBoth: return "both";
    case EventTopics::kAws: return "aws";
    case EventTopics::kShort: return "short";
  }
  return "?";
}

}  // namespace

ParseResult parse_options(const std::vector<Option>& options) {
  PluginConfig config;
  std::set<std::string_view> seen;
  for (const auto& [raw_key, raw_value] : options) {
    std::string_view key = trim(raw_key);
    if (!seen.insert(key).second) {
      return "plugin_opt_" + std::string(key) + " is given more than once; keep one line";
    }
    std::string err = apply(key, trim(raw_value), &config);
    if (!err.empty()) return err;
  }
  if (config.db_path.empty()) {
    return std::string(
        "plugin_opt_db_path is required: the directory where shadows are stored, created if "
        "missing and writable by the broker's user (usually 'mosquitto'), e.g. "
        "plugin_opt_db_path /var/lib/mosquitto/shadow");
  }
  if (!config.engine.short_topics && config.engine.event_topics == EventTopics::kShort) {
    return std::string(
        "plugin_opt_event_topics short needs plugin_opt_short_topics true; with short topics "
        "off, events can only use the $aws form (use both or aws)");
  }
  return config;
}

std::string describe(const PluginConfig& c) {
  std::string s;
  s += "db_path=" + c.db_path;
  s += std::string(" sync_writes=") + (c.sync_writes ? "true" : "false");
  s += std::string(" short_topics=") + (c.engine.short_topics ? "true" : "false");
  s += std::string(" event_topics=") + event_topics_name(c.engine.event_topics);
  s += " max_document_bytes=" + std::to_string(c.engine.max_document_bytes);
  s += " max_depth=" + std::to_string(c.engine.max_depth);
  s += " max_payload_bytes=" + std::to_string(c.engine.max_payload_bytes);
  s += " tombstone_retention_s=" + std::to_string(c.engine.tombstone_retention_s);
  s += " block_cache_mb=" + std::to_string(c.block_cache_bytes >> 20);
  for (const BoolChoice& choice : kBoolChoices)
    s += std::string(" ") + choice.key + "=" + (c.engine.*(choice.field) ? "true" : "false");
  s += std::string(" documents_previous=") + (c.engine.documents_previous_null ? "null" : "omit");
  return s;
}

}  // namespace shadow::plugin
