// The event brokers of a cluster exchange (docs/scale-out.md): the messages
// one broker published for a shadow, so that the others publish the same to
// their own subscribers. One event per write (it travels inside the write,
// Store::compare_and_set_with_event), or per answer that wrote nothing (a
// get/accepted, a rejection).
//
// Wire format, version 1: "SE1" then length-prefixed fields, each
// "<decimal length>:<bytes>":
//   origin broker id, thing, shadow name ("" classic),
//   written: "" (wrote nothing) or before-stamp + after-stamp,
//     a stamp being 16 hex digits of the version and '0' live / '1' deleted,
//     before "" when nothing was stored,
//   message count, then per message: topic, payload, qos digit, retain '0'/'1'.
// Binary-safe (payloads may hold anything). Pure code.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "shadow_core/service.h"

namespace shadow::cluster {

struct ClusterEvent {
  std::string origin;  // the broker that published it
  ShadowId id;
  std::optional<WrittenStamps> written;  // nullopt: an answer that wrote nothing
  std::vector<OutMessage> messages;
};

std::string encode_event(std::string_view origin, const ShadowId& id, const std::optional<WrittenStamps>& written,
                         const std::vector<OutMessage>& messages);

// kInvalidArgument naming what is malformed (a newer format, a truncated
// event, a bad stamp).
StatusOr<ClusterEvent> decode_event(std::string_view data);

// The origin broker of an event, read from its header only (nullopt when the
// header is malformed): a broker drops its own events, which come back to it
// whenever it listens to the thing, before paying for a full decode.
std::optional<std::string_view> event_origin(std::string_view data);

}  // namespace shadow::cluster
