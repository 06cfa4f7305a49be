// The enabled rules as the broker thread runs them: an immutable snapshot,
// rebuilt by the registry whenever a rule changes and handed over whole, so
// that evaluation never takes a lock and never sees half an update.
//
// Finding the rules for a topic is the per-message cost every publish pays
// once rules exist. Rules with the same FROM filter are grouped, so a topic
// is compared with each distinct filter once (many rules usually read the
// same shadow topics), and the groups are indexed by the first level of
// their filter: a topic is compared only with the filters that name its
// first level and those that start with a wildcard (which never match
// topics starting with '$').
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/rules/engine/rule_stats.h"
#include "plugin/rules/topic_rule.h"

namespace shadow::rules {

struct CompiledRule {
  std::string name;
  std::shared_ptr<const TopicRulePayload> payload;  // compiled SQL and actions
  std::shared_ptr<RuleStats> stats;                 // survives replace, enable and disable
};

class RuleSet {
 public:
  RuleSet() = default;
  // `rules` in the order they are to run (the registry gives name order).
  explicit RuleSet(std::vector<CompiledRule> rules);

  bool empty() const { return rules_.empty(); }
  size_t size() const { return rules_.size(); }

  // True when some rule's FROM filter matches `topic`. No allocation.
  bool any_match(std::string_view topic) const;
  // The rules whose FROM filter matches `topic`, in run order, appended to *out.
  void match(std::string_view topic, std::vector<const CompiledRule*>* out) const;

 private:
  // The rules (indexes into rules_, in run order) of one distinct filter.
  struct FilterGroup {
    std::string filter;
    std::vector<size_t> rules;
  };
  bool group_matches(const FilterGroup& group, std::string_view topic) const;
  const std::vector<size_t>* literal_candidates(std::string_view topic) const;

  std::vector<CompiledRule> rules_;
  std::vector<FilterGroup> groups_;
  // Indexes into groups_.
  std::map<std::string, std::vector<size_t>, std::less<>> by_first_level_;
  std::vector<size_t> wildcard_first_;  // filters starting with '+' or '#'
};

}  // namespace shadow::rules
