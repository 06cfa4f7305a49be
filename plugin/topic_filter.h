// A cheap pre-check run on every PUBLISH the broker receives, before the
// engine parses the topic. Most traffic on a broker is not for shadows, and
// the engine's parser builds strings; this check allocates nothing.
#pragma once

#include <string_view>

namespace shadow::plugin {

// False only when `topic` cannot be a shadow request topic. It is a necessary
// condition of the grammar in shadow_core/topic.h, never a sufficient one:
// every request topic has a "shadow" level after a thing level and ends in
// /get, /update or /delete; without the short form it also starts with
// "$aws/things/".
inline bool may_be_shadow_request(std::string_view topic, bool short_topics) {
  if (!short_topics && !topic.starts_with("$aws/things/")) return false;
  if (!topic.ends_with("/get") && !topic.ends_with("/update") && !topic.ends_with("/delete")) {
    return false;
  }
  return topic.find("/shadow/") != std::string_view::npos;
}

}  // namespace shadow::plugin
