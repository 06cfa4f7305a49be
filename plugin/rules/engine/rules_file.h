// plugin_opt_rules_file: rule definitions kept in files (configuration
// management), applied when the broker starts. A definition has the shape
// of `aws iot create-topic-rule --cli-input-json`:
//
//   {"ruleName": "hot_things", "topicRulePayload": {"sql": "...", "actions": [...]}}
//
// A file holds one definition or a JSON array of them; a directory means
// every *.json file directly in it, in name order. Other members (such as
// "tags") are ignored.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace shadow::rules {

struct RuleDefinition {
  std::string name;
  std::string payload;  // the topicRulePayload, as JSON text
  std::string source;   // "FILE" or "FILE[INDEX]", for messages
};

// Every definition under `path`. Errors (unreadable file, invalid JSON, a
// definition without ruleName or topicRulePayload, a name defined twice)
// name the file and what to fix. The payloads themselves are checked when
// they are applied (RuleRegistry::apply).
StatusOr<std::vector<RuleDefinition>> read_rule_definitions(const std::string& path);

}  // namespace shadow::rules
