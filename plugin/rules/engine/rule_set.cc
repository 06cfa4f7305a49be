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
  std::map<std::string_view, size_t> group_of;  // filter -> index into groups_
  for (size_t i = 0; i < rules_.size(); i++) {
    const std::string& filter = rules_[i].payload->topic_pattern();
    auto [it, added] = group_of.emplace(filter, groups_.size());
    if (added) groups_.push_back(FilterGroup{filter, {}});
    groups_[it->second].rules.push_back(i);
  }
  for (size_t g = 0; g < groups_.size(); g++) {
    const std::string& filter = groups_[g].filter;
    if (starts_with_wildcard(filter)) {
      wildcard_first_.push_back(g);
    } else {
      by_first_level_[std::string(first_level(filter))].push_back(g);
    }
  }
}

bool RuleSet::group_matches(const FilterGroup& group, std::string_view topic) const {
  // Every rule of the group has the same filter: the first one decides.
  return rules_[group.rules.front()].payload->statement->from().matches(topic);
}

const std::vector<size_t>* RuleSet::literal_candidates(std::string_view topic) const {
  auto it = by_first_level_.find(first_level(topic));
  return it == by_first_level_.end() ? nullptr : &it->second;
}

bool RuleSet::any_match(std::string_view topic) const {
  if (rules_.empty()) return false;
  if (const std::vector<size_t>* literal = literal_candidates(topic)) {
    for (size_t g : *literal)
      if (group_matches(groups_[g], topic)) return true;
  }
  for (size_t g : wildcard_first_)
    if (group_matches(groups_[g], topic)) return true;
  return false;
}

void RuleSet::match(std::string_view topic, std::vector<const CompiledRule*>* out) const {
  if (rules_.empty()) return;
  size_t first = out->size();
  auto add = [&](size_t g) {
    if (!group_matches(groups_[g], topic)) return;
    for (size_t i : groups_[g].rules) out->push_back(&rules_[i]);
  };
  if (const std::vector<size_t>* literal = literal_candidates(topic)) {
    for (size_t g : *literal) add(g);
  }
  for (size_t g : wildcard_first_) add(g);
  // The groups are each in run order (rules_ order, so address order); merge them.
  std::sort(out->begin() + static_cast<std::ptrdiff_t>(first), out->end());
}

}  // namespace shadow::rules
