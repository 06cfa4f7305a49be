#include "plugin/rules/rule_name.h"

#include <string>

namespace shadow::rules {

std::optional<RuleError> check_rule_name(std::string_view name) {
  if (name.empty()) return validation_error(std::string(name), "ruleName", "have length greater than or equal to 1");
  if (name.size() > kMaxRuleNameLength)
    return validation_error(std::string(name), "ruleName", "have length less than or equal to 128");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok)
      return validation_error(std::string(name), "ruleName",
                              "satisfy regular expression pattern: ^[a-zA-Z0-9_]+$");
  }
  return std::nullopt;
}

std::string rule_arn(std::string_view region, std::string_view account, std::string_view name) {
  return "arn:aws:iot:" + std::string(region) + ":" + std::string(account) + ":rule/" + std::string(name);
}

}  // namespace shadow::rules
