#include "plugin/rules/engine/registry.h"

#include <utility>

#include "plugin/rules/rule_name.h"
#include "plugin/rules/sql/encoding.h"
#include "shadow_core/json.h"

namespace shadow::rules {
namespace {

constexpr const char* kTokenPrefix = "rules:";

RuleError store_failure(const Status& st) {
  return RuleError{RuleException::kInternal, "The rule store failed: " + st.message()};
}

std::string record_json(const TopicRule& rule) {
  std::string payload = payload_json(rule.payload);
  rapidjson::StringBuffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("createdAt");
  w.Int64(rule.created_at_ms);
  w.Key("payload");
  w.RawValue(payload.data(), payload.size(), rapidjson::kObjectType);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string encode_token(std::string_view last_name) {
  return sql::base64_encode(std::string(kTokenPrefix) + std::string(last_name));
}

// The name a nextToken continues after, or nullopt if it is not ours.
std::optional<std::string> decode_token(std::string_view token) {
  std::string text;
  if (!sql::base64_decode(token, &text)) return std::nullopt;
  std::string_view prefix = kTokenPrefix;
  if (text.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  std::string name = text.substr(prefix.size());
  if (check_rule_name(name)) return std::nullopt;
  return name;
}

}  // namespace

RuleError rule_not_found(std::string_view name) {
  return RuleError{RuleException::kUnauthorized, "The rule '" + std::string(name) + "' does not exist"};
}

RuleRegistry::RuleRegistry(Store& store, RegistryOptions options)
    : store_(store), options_(std::move(options)), snapshot_(std::make_shared<RuleSet>()) {}

RuleResult<TopicRulePayload> RuleRegistry::parse(std::string_view body) const {
  auto payload = parse_topic_rule_payload(body);
  if (!payload.ok()) return payload.error();
  if (options_.validate) {
    if (std::optional<RuleError> refused = options_.validate(payload.value())) return *refused;
  }
  return payload;
}

Status RuleRegistry::load(std::vector<std::string>* skipped) {
  std::map<std::string, Entry, std::less<>> loaded;
  std::string after;
  bool more = true;
  while (more) {
    std::vector<Item> items;
    Status st = store_.list_items(kSpace, "", after, 256, &items, &more);
    if (!st.is_ok()) return st.with_context("reading the rules");
    for (Item& item : items) {
      after = item.key;
      json::Document doc;
      const json::Value* created = nullptr;
      const json::Value* payload = nullptr;
      if (json::parse(item.value, &doc) && doc.IsObject()) {
        created = json::find_last(doc, "createdAt");
        payload = json::find_last(doc, "payload");
      }
      if (!created || !created->IsInt64() || !payload || !payload->IsObject()) {
        skipped->push_back("rule '" + item.key + "': the stored record is damaged");
        continue;
      }
      auto parsed = parse_topic_rule_payload(json::write(*payload));
      if (!parsed.ok()) {
        skipped->push_back("rule '" + item.key + "' does not compile any more: " + parsed.error().message);
        continue;
      }
      auto rule = std::make_shared<TopicRule>();
      rule->name = item.key;
      rule->payload = std::move(parsed).value();
      rule->created_at_ms = created->GetInt64();
      loaded[item.key] = Entry{std::move(rule), std::make_shared<RuleStats>()};
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  rules_ = std::move(loaded);
  publish_snapshot();
  return Status::ok();
}

std::optional<RuleError> RuleRegistry::store_rule(const TopicRule& rule, ItemWrite mode) {
  Status st = store_.put_item(kSpace, rule.name, record_json(rule), mode);
  if (st.is_conflict()) {
    RuleError e{RuleException::kResourceAlreadyExists, "A rule named '" + rule.name + "' already exists"};
    return e;
  }
  if (!st.is_ok()) return store_failure(st);
  return std::nullopt;
}

std::optional<RuleError> RuleRegistry::create(std::string_view name, std::string_view body, int64_t now_ms) {
  if (std::optional<RuleError> bad = check_rule_name(name)) return bad;
  auto payload = parse(body);
  if (!payload.ok()) return payload.error();
  auto rule = std::make_shared<TopicRule>();
  rule->name = std::string(name);
  rule->payload = std::move(payload).value();
  rule->created_at_ms = now_ms;

  std::lock_guard<std::mutex> lock(mu_);
  // The store decides (kIfAbsent), so that a rule created meanwhile by
  // another broker sharing the store is not overwritten either.
  if (std::optional<RuleError> failed = store_rule(*rule, ItemWrite::kIfAbsent)) return failed;
  // The key is copied first: the right-hand side is evaluated before the
  // left in an assignment, and it moves `rule` away.
  std::string key = rule->name;
  rules_[key] = Entry{std::move(rule), std::make_shared<RuleStats>()};
  publish_snapshot();
  return std::nullopt;
}

std::optional<RuleError> RuleRegistry::replace(std::string_view name, std::string_view body) {
  if (std::optional<RuleError> bad = check_rule_name(name)) return bad;
  auto payload = parse(body);
  if (!payload.ok()) return payload.error();

  std::lock_guard<std::mutex> lock(mu_);
  auto it = rules_.find(name);
  if (it == rules_.end()) return rule_not_found(name);
  auto rule = std::make_shared<TopicRule>();
  rule->name = std::string(name);
  rule->payload = std::move(payload).value();
  rule->created_at_ms = it->second.rule->created_at_ms;
  if (std::optional<RuleError> failed = store_rule(*rule, ItemWrite::kReplace)) return failed;
  it->second.rule = std::move(rule);
  publish_snapshot();
  return std::nullopt;
}

std::optional<RuleError> RuleRegistry::remove(std::string_view name) {
  if (std::optional<RuleError> bad = check_rule_name(name)) return bad;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rules_.find(name);
  if (it == rules_.end()) return rule_not_found(name);
  Status st = store_.delete_item(kSpace, name);
  if (!st.is_ok()) return store_failure(st);
  rules_.erase(it);
  publish_snapshot();
  return std::nullopt;
}

std::optional<RuleError> RuleRegistry::set_disabled(std::string_view name, bool disabled) {
  if (std::optional<RuleError> bad = check_rule_name(name)) return bad;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rules_.find(name);
  if (it == rules_.end()) return rule_not_found(name);
  const TopicRule& current = *it->second.rule;
  if (current.payload.rule_disabled == disabled) return std::nullopt;
  // Rules are shared with the running snapshot and never changed in place:
  // the new state is a new copy, compiled from the stored form.
  auto copy = parse_topic_rule_payload(payload_json(current.payload));
  if (!copy.ok()) return RuleError{RuleException::kInternal, copy.error().message};
  auto rule = std::make_shared<TopicRule>();
  rule->name = current.name;
  rule->payload = std::move(copy).value();
  rule->payload.rule_disabled = disabled;
  rule->created_at_ms = current.created_at_ms;
  if (std::optional<RuleError> failed = store_rule(*rule, ItemWrite::kReplace)) return failed;
  it->second.rule = std::move(rule);
  publish_snapshot();
  return std::nullopt;
}

RuleResult<std::string> RuleRegistry::get(std::string_view name) const {
  if (std::optional<RuleError> bad = check_rule_name(name)) return *bad;
  std::shared_ptr<const TopicRule> rule;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rules_.find(name);
    if (it == rules_.end()) return rule_not_found(name);
    rule = it->second.rule;
  }
  return get_topic_rule_json(*rule, arn(name));
}

RuleResult<std::string> RuleRegistry::list(const ListQuery& query) const {
  size_t page_size = kDefaultPageSize;
  if (query.max_results) {
    const std::string& text = *query.max_results;
    bool digits = !text.empty() && text.size() <= 6 && text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) return invalid_request("Invalid maxResults '" + text + "': expected an integer from 1 to 10000");
    size_t n = std::stoul(text);
    if (n < 1) return validation_error(text, "maxResults", "have value greater than or equal to 1");
    if (n > kMaxPageSize) return validation_error(text, "maxResults", "have value less than or equal to 10000");
    page_size = n;
  }
  std::optional<bool> disabled;
  if (query.rule_disabled) {
    if (*query.rule_disabled == "true") disabled = true;
    else if (*query.rule_disabled == "false") disabled = false;
    else return invalid_request("Invalid ruleDisabled '" + *query.rule_disabled + "': expected true or false");
  }
  std::string after;
  if (query.next_token) {
    std::optional<std::string> decoded = decode_token(*query.next_token);
    if (!decoded) return invalid_request("Invalid nextToken: pass the nextToken of the previous page unchanged");
    after = std::move(*decoded);
  }

  std::vector<std::shared_ptr<const TopicRule>> page;
  bool more = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = after.empty() ? rules_.begin() : rules_.upper_bound(after); it != rules_.end(); ++it) {
      const TopicRule& rule = *it->second.rule;
      if (query.topic && !listed_for_topic(rule.payload, *query.topic)) continue;
      if (disabled && rule.payload.rule_disabled != *disabled) continue;
      if (page.size() == page_size) {
        more = true;
        break;
      }
      page.push_back(it->second.rule);
    }
  }

  rapidjson::StringBuffer buffer;
  json::Writer w(buffer);
  w.StartObject();
  w.Key("rules");
  w.StartArray();
  for (const auto& rule : page) write_list_item(*rule, arn(rule->name), w);
  w.EndArray();
  if (more) {
    std::string token = encode_token(page.back()->name);
    w.Key("nextToken");
    w.String(token.data(), static_cast<rapidjson::SizeType>(token.size()));
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

RuleResult<RuleRegistry::Applied> RuleRegistry::apply(std::string_view name, std::string_view body,
                                                      int64_t now_ms) {
  if (std::optional<RuleError> bad = check_rule_name(name)) return *bad;
  auto payload = parse(body);
  if (!payload.ok()) return payload.error();
  std::string wanted = payload_json(payload.value());
  bool exists = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rules_.find(name);
    if (it != rules_.end()) {
      exists = true;
      if (payload_json(it->second.rule->payload) == wanted) return Applied::kUnchanged;
    }
  }
  std::optional<RuleError> failed = exists ? replace(name, body) : create(name, body, now_ms);
  if (failed) return *failed;
  return exists ? Applied::kReplaced : Applied::kCreated;
}

std::string RuleRegistry::arn(std::string_view name) const {
  return rule_arn(options_.region, options_.account_id, name);
}

size_t RuleRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rules_.size();
}

std::shared_ptr<const RuleSet> RuleRegistry::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

std::vector<RuleRegistry::StatsEntry> RuleRegistry::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StatsEntry> out;
  out.reserve(rules_.size());
  for (const auto& [name, entry] : rules_) out.push_back(StatsEntry{name, entry.stats});
  return out;
}

void RuleRegistry::publish_snapshot() {
  std::vector<CompiledRule> enabled;
  for (const auto& [name, entry] : rules_) {
    if (entry.rule->payload.rule_disabled) continue;
    // The payload shares the rule's lifetime (aliasing constructor).
    std::shared_ptr<const TopicRulePayload> payload(entry.rule, &entry.rule->payload);
    enabled.push_back(CompiledRule{name, std::move(payload), entry.stats});
  }
  snapshot_ = std::make_shared<const RuleSet>(std::move(enabled));
  generation_.fetch_add(1, std::memory_order_release);
}

}  // namespace shadow::rules
