#include "plugin/rules/engine/loop_guard.h"

#include <algorithm>

namespace shadow::rules {

const LoopGuard::Slot* LoopGuard::find(uint64_t trail) const {
  if (trail == kNone || trail == kNoRules) return nullptr;
  size_t index = static_cast<size_t>(trail % kSlots);
  if (index >= slots_.size() || slots_[index].id != trail) return nullptr;
  return &slots_[index];
}

uint64_t LoopGuard::extend(uint64_t parent, std::string_view rule) {
  if (parent == kNoRules) return kNoRules;
  if (parent == kNone) {
    auto cached = single_.find(std::string(rule));
    if (cached != single_.end() && find(cached->second) != nullptr) return cached->second;
  }
  std::vector<std::string> rules;
  if (parent != kNone) {
    const Slot* p = find(parent);
    if (p == nullptr) return kNoRules;
    rules = p->rules;
  }
  if (std::find(rules.begin(), rules.end(), rule) == rules.end()) rules.emplace_back(rule);
  if (rules.size() > kMaxChain) return kNoRules;
  uint64_t id = next_++;
  if (id == kNoRules) id = next_++;  // 2^64 trails: never in practice
  size_t index = static_cast<size_t>(id % kSlots);
  if (index >= slots_.size()) slots_.resize(index + 1);
  slots_[index] = Slot{id, std::move(rules)};
  if (parent == kNone) single_[std::string(rule)] = id;
  return id;
}

bool LoopGuard::usable(uint64_t trail) const { return trail == kNone || find(trail) != nullptr; }

bool LoopGuard::allows(uint64_t trail, std::string_view rule) const {
  if (trail == kNone) return true;
  const Slot* slot = find(trail);
  if (slot == nullptr) return false;
  return std::find(slot->rules.begin(), slot->rules.end(), rule) == slot->rules.end();
}

}  // namespace shadow::rules
