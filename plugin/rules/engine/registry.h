// The topic rules of this broker: created, read, listed, replaced, enabled,
// disabled and deleted the way the AWS IoT control plane does it, kept in
// the store (items space "rules", one item per rule, so they survive
// restarts) and mirrored in memory.
//
// Every change takes effect at once: the registry rebuilds the RuleSet of
// the enabled rules and publishes it with a new generation number; the
// broker thread picks it up before it evaluates its next message
// (RulesEngine). The registry is called from the REST API's worker threads
// and, at start-up, from the rules file loader; it is thread-safe.
//
// A stored rule is {"createdAt": <epoch ms>, "payload": <TopicRulePayload>}
// with the payload in the canonical form of payload_json(): its SQL is
// compiled again when the broker starts.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "plugin/rules/engine/rule_set.h"
#include "plugin/rules/engine/rule_stats.h"
#include "plugin/rules/rule_error.h"
#include "plugin/rules/topic_rule.h"
#include "store/store.h"

namespace shadow::rules {

struct RegistryOptions {
  std::string region = "us-east-1";        // of the rule ARNs
  std::string account_id = "000000000000";  // of the rule ARNs
  // Checks beyond the payload's own (the URL policy of http actions); an
  // error refuses the create or replace.
  std::function<std::optional<RuleError>(const TopicRulePayload&)> validate;
};

// ListTopicRules' query parameters, as received (nullopt: absent).
struct ListQuery {
  std::optional<std::string> topic;
  std::optional<std::string> max_results;
  std::optional<std::string> next_token;
  std::optional<std::string> rule_disabled;
};

class RuleRegistry {
 public:
  static constexpr const char* kSpace = "rules";
  static constexpr size_t kDefaultPageSize = 1000;
  static constexpr size_t kMaxPageSize = 10000;  // AWS's maxResults limit

  // `store` must outlive the registry.
  RuleRegistry(Store& store, RegistryOptions options);

  // Reads the stored rules (at start-up). A stored rule that no longer
  // compiles is left in the store and out of the registry, with a line for
  // the log in *skipped. A store failure is an error.
  Status load(std::vector<std::string>* skipped);

  // The operations of the control plane. Each returns the error to answer,
  // or nullopt when it succeeded. A rule that does not exist is an
  // UnauthorizedException, as on AWS.
  std::optional<RuleError> create(std::string_view name, std::string_view body, int64_t now_ms);
  std::optional<RuleError> replace(std::string_view name, std::string_view body);
  std::optional<RuleError> remove(std::string_view name);
  std::optional<RuleError> set_disabled(std::string_view name, bool disabled);
  // GetTopicRule's response body.
  RuleResult<std::string> get(std::string_view name) const;
  // ListTopicRules' response body: rules in name order.
  RuleResult<std::string> list(const ListQuery& query) const;

  // A definition from the rules file: created, or replaced when the stored
  // rule differs (its creation time is kept).
  enum class Applied { kCreated, kReplaced, kUnchanged };
  RuleResult<Applied> apply(std::string_view name, std::string_view body, int64_t now_ms);

  std::string arn(std::string_view name) const;
  size_t size() const;

  // The enabled rules, and a number that changes whenever they do.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const RuleSet> snapshot() const;

  // Every rule's counters, for /metrics, in name order.
  struct StatsEntry {
    std::string name;
    std::shared_ptr<const RuleStats> stats;
  };
  std::vector<StatsEntry> stats() const;

 private:
  struct Entry {
    std::shared_ptr<const TopicRule> rule;
    std::shared_ptr<RuleStats> stats;
  };
  RuleResult<TopicRulePayload> parse(std::string_view body) const;
  // Writes `rule` to the store; requires mu_.
  std::optional<RuleError> store_rule(const TopicRule& rule, ItemWrite mode);
  // Rebuilds the snapshot of the enabled rules; requires mu_.
  void publish_snapshot();

  Store& store_;
  RegistryOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> rules_;
  std::shared_ptr<const RuleSet> snapshot_;
  std::atomic<uint64_t> generation_{0};
};

// No such rule: AWS answers UnauthorizedException.
RuleError rule_not_found(std::string_view name);

}  // namespace shadow::rules
