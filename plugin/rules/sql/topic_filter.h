// The FROM clause's MQTT topic filter: which messages a rule sees.
//
// MQTT's rules: '+' matches one level, '#' (last, alone in its level) the
// parent level and everything below it. A filter starting with a wildcard
// does not match topics starting with '$' ($aws/..., $SYS/...), so a rule
// on '#' does not see the service's own shadow topics; name them, as in
// '$aws/things/+/shadow/update/documents'.
#pragma once

#include <string>
#include <string_view>

namespace shadow::rules::sql {

class TopicFilter {
 public:
  // False (with the reason in *why) for what MQTT does not accept as a
  // filter: empty, '#' not last or not alone in its level, '+' not alone in
  // its level, a NUL character, invalid UTF-8, more than 65535 bytes.
  static bool validate(std::string_view filter, std::string* why);

  TopicFilter() = default;
  // `filter` must be valid (validate()).
  explicit TopicFilter(std::string filter) : text_(std::move(filter)) {}

  const std::string& text() const { return text_; }

  // Whether a message published on `topic` reaches the rule. No allocation.
  bool matches(std::string_view topic) const { return topic_matches(text_, topic); }

  static bool topic_matches(std::string_view filter, std::string_view topic);

 private:
  std::string text_;
};

}  // namespace shadow::rules::sql
