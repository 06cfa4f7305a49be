// The loop guard: a message a rule caused is never fed back to that rule.
//
// Every message a republish action publishes, and every reply and event the
// shadow service publishes because of it, carries a trail: the rules whose
// republishes led to it. The engine does not run a rule on a message whose
// trail names it, so a rule that republishes to a topic it reads (or two
// rules that feed each other) runs once per original message instead of
// forever. A chain of different rules may continue up to kMaxChain rules.
//
// Trails are numbered; the number travels with the message (OutMessage's
// origin, through the request pipeline and durable mode's hold-back) and
// the trail itself stays here. The table keeps the last kSlots trails: a
// message whose trail was forgotten (more than kSlots newer ones since, which
// only a huge backlog of held-back messages could cause) is fed to no rule.
//
// Broker thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace shadow::rules {

class LoopGuard {
 public:
  static constexpr uint64_t kNone = 0;        // not caused by a rule
  static constexpr uint64_t kNoRules = ~0ull;  // fed to no rule
  static constexpr size_t kSlots = 1 << 14;
  static constexpr size_t kMaxChain = 32;

  // The trail of a message published by `rule` for a message with trail
  // `parent`: kNoRules when the chain would grow beyond kMaxChain.
  uint64_t extend(uint64_t parent, std::string_view rule);

  // Whether a message with trail `trail` may run `rule`.
  bool allows(uint64_t trail, std::string_view rule) const;
  // Whether any rule may run on it (the trail is known and not kNoRules).
  bool usable(uint64_t trail) const;

 private:
  struct Slot {
    uint64_t id = 0;
    std::vector<std::string> rules;
  };
  const Slot* find(uint64_t trail) const;

  std::vector<Slot> slots_;
  // The one-rule trail of each rule (the common case: a message that came
  // from a client), reused while it is still in the table.
  std::unordered_map<std::string, uint64_t> single_;  // grows to kSlots, then reused round robin
  uint64_t next_ = 1;
};

}  // namespace shadow::rules
