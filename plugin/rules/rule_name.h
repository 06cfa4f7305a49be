// Rule names as AWS allows them: 1 to 128 characters of [a-zA-Z0-9_].
#pragma once

#include <optional>
#include <string_view>

#include "plugin/rules/rule_error.h"

namespace shadow::rules {

inline constexpr size_t kMaxRuleNameLength = 128;

// The InvalidRequestException for an invalid name, or nullopt.
std::optional<RuleError> check_rule_name(std::string_view name);

// "arn:aws:iot:<region>:<account>:rule/<name>", the rule's ARN.
std::string rule_arn(std::string_view region, std::string_view account, std::string_view name);

}  // namespace shadow::rules
