// Every limit and every behaviour choice of the engine. Defaults are AWS's
// where AWS documents them (docs/mqtt-api.md#limits); the fields marked
// UNVERIFIED are choices where AWS's behaviour is not known for certain and
// are explained in docs/compatibility.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace shadow {

// Which topic forms carry /update/delta and /update/documents events.
enum class EventTopics { kBoth, kAws, kShort };

struct Config {
  // --- limits -------------------------------------------------------------
  size_t max_document_bytes = 8192;      // desired + reported after merge, compact JSON
  int max_depth = 6;                     // levels, counting desired/reported as 1
  size_t max_payload_bytes = 131072;     // request payload cap, checked before parsing
  size_t max_client_token_bytes = 64;
  size_t max_thing_name_bytes = 128;
  size_t max_shadow_name_bytes = 64;
  size_t list_default_page_size = 25;    // UNVERIFIED: ListNamedShadowsForThing default
  size_t list_max_page_size = 100;

  // --- topics (PRODUCT) ---------------------------------------------------
  bool short_topics = true;              // accept {thing}/shadow/... as well
  EventTopics event_topics = EventTopics::kBoth;  // effective only with short_topics

  // --- choices where AWS is unverified ------------------------------------
  bool tombstone_bumps_version = true;   // delete at v leaves a tombstone at v+1
  int64_t tombstone_retention_s = 172800;  // 0: keep tombstones forever
  bool delta_on_unchanged = true;        // re-publish a non-empty delta the update did not change
  bool documents_previous_null = true;   // "previous":null on create; false: omit the key
  bool error_timestamp = false;          // add "timestamp" to error documents
  bool reserved_shadow_names = false;    // true: reject shadow names starting with '$'
  std::string invalid_json_message = "Payload contains invalid json";
  std::string null_in_array_message = "Invalid JSON";
  std::string throttled_message = "Too Many Requests";
  bool rest_not_found_thing_tilde_shadow = true;  // REST 404 names a named shadow 'thing~shadow'
  bool rest_update_publishes_accepted = true;     // REST update also publishes update/accepted
  bool rest_delete_publishes_accepted = true;     // REST delete also publishes delete/accepted

  // --- shadow history (docs/fleet.md#history) -------------------------------
  // Versions of each shadow kept in the store; 0: no history.
  uint32_t history_versions = 0;

  // --- shared stores --------------------------------------------------------
  // How long a write keeps retrying when another process changed the shadow
  // between its read and its compare-and-set (service.h), before a 500.
  int64_t write_conflict_deadline_ms = 2000;
};

}  // namespace shadow
