// Which things this broker's clients want events of, learned from their
// subscriptions (the broker's ACL checks for SUBSCRIBE and UNSUBSCRIBE, and
// disconnects): a broker of a cluster receives another broker's events only
// for those things, plus everything while some client holds a wildcard
// subscription over thing names ("the firehose").
//
// The table over-approximates: a subscription the broker then refuses, or a
// persistent session that expired, may leave interest behind. That costs
// events published to nobody, never a missed one. Pure code.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace shadow::cluster {

// What a subscription filter can receive of the shadow service's answers
// and events (topics ".../shadow[/name/N]/{get,update,delete}/{accepted,
// rejected,delta,documents}", in the $aws form and, with short_topics, the
// short form).
struct FilterInterest {
  enum class Kind { kNone, kThing, kAll };
  Kind kind = Kind::kNone;
  std::string thing;  // kThing
  bool operator==(const FilterInterest&) const = default;
};
// A shared subscription ("$share/group/filter") counts as its filter.
FilterInterest interest_of(std::string_view filter, bool short_topics);

class InterestTable {
 public:
  explicit InterestTable(bool short_topics) : short_topics_(short_topics) {}

  // What a call changed: things that became wanted or unwanted, and whether
  // everything (wildcard subscriptions) became wanted or unwanted.
  struct Change {
    std::vector<std::string> things_on, things_off;
    bool all_on = false, all_off = false;
    bool empty() const { return things_on.empty() && things_off.empty() && !all_on && !all_off; }
  };

  // `client` subscribed to `filter` (again: no change).
  Change subscribed(const std::string& client, std::string_view filter);
  Change unsubscribed(const std::string& client, std::string_view filter);
  // Every subscription of `client` is gone (a clean session disconnected).
  Change client_gone(const std::string& client);

  bool wants(std::string_view thing) const;
  bool wants_all() const { return all_refs_ > 0; }
  size_t things() const { return thing_refs_.size(); }

 private:
  // Adds (+1) or removes (-1) one reference of `interest`.
  void count(const FilterInterest& interest, int delta, Change* change);

  const bool short_topics_;
  // client -> the filters it holds that carry interest
  std::unordered_map<std::string, std::unordered_set<std::string>> filters_;
  std::unordered_map<std::string, size_t> thing_refs_;
  size_t all_refs_ = 0;
};

}  // namespace shadow::cluster
