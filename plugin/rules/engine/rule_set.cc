#include "plugin/rules/engine/rule_set.h"

#include <algorithm>
#include <utility>

namespace shadow::rules {
namespace {

std::string_view first_level(std::string_view topic) { return topic.substr(0, topic.find('/')); }

bool starts_with_wildcard(std::string_view filter) {
  std::string_view level = first_level(filter);
  return level == "+" || level == "#";
}

}  // namespace

RuleSet::RuleSet(std::vector<CompiledRule> rules) : rules_(std::move(rules)) {
  for (size_t i = 0; i < rules_.size(); i++) {
    const std::string& filter = rules_[i].payload->topic_pattern();
    if (starts_with_wildcard(filter)) {
      wildcard_first_.push_back(i);
    } else {
      by_first_level_[std::string(first_level(filter))].push_back(i);
    }
  }
}

const std::vector<size_t>* RuleSet::literal_candidates(std::string_view topic) const {
  auto it = by_first_level_.find(first_level(topic));
  return it == by_first_level_.end() ? nullptr : &it->second;
}

bool RuleSet::any_match(std::string_view topic) const {
  if (rules_.empty()) return false;
  if (const std::vector<size_t>* literal = literal_candidates(topic)) {
    for (size_t i : *literal)
      if (rules_[i].payload->statement->from().matches(topic)) return true;
  }
  for (size_t i : wildcard_first_)
    if (rules_[i].payload->statement->from().matches(topic)) return true;
  return false;
}

void RuleSet::match(std::string_view topic, std::vector<const CompiledRule*>* out) const {
  if (rules_.empty()) return;
  size_t first = out->size();
  if (const std::vector<size_t>* literal = literal_candidates(topic)) {
    for (size_t i : *literal)
      if (rules_[i].payload->statement->from().matches(topic)) out->push_back(&rules_[i]);
  }
  for (size_t i : wildcard_first_)
    if (rules_[i].payload->statement->from().matches(topic)) out->push_back(&rules_[i]);
  // Both lists are in run order (rules_ order, so address order); merge them.
  std::sort(out->begin() + static_cast<std::ptrdiff_t>(first), out->end());
}

}  // namespace shadow::rules
