#include "plugin/cluster/interest.h"

namespace shadow::cluster {
namespace {

std::vector<std::string_view> levels_of(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

bool is_op(std::string_view l) { return l == "get" || l == "update" || l == "delete"; }
bool is_suffix(std::string_view l) {
  return l == "accepted" || l == "rejected" || l == "delta" || l == "documents";
}

// Whether filter levels `f` (from the "shadow" level on) can match
// "shadow/OP/SUFFIX" or "shadow/name/N/OP/SUFFIX".
bool matches_shadow_part(const std::vector<std::string_view>& f, size_t i) {
  auto lit = [&](size_t k, bool (*ok)(std::string_view)) { return f[k] == "+" || ok(f[k]); };
  auto any = [](std::string_view) { return true; };
  auto shadow = [](std::string_view l) { return l == "shadow"; };
  auto name = [](std::string_view l) { return l == "name"; };
  // The templates, level by level.
  using Check = bool (*)(std::string_view);
  const std::vector<std::vector<Check>> templates = {{shadow, is_op, is_suffix},
                                                     {shadow, name, any, is_op, is_suffix}};
  for (const auto& t : templates) {
    bool ok = true;
    size_t k = 0;
    for (; k < t.size(); k++) {
      if (i + k >= f.size()) {
        ok = false;
        break;
      }
      if (f[i + k] == "#") break;  // matches the rest
      if (!lit(i + k, t[k])) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (k == t.size() && i + k != f.size()) continue;  // the filter is longer
    return true;
  }
  return false;
}

}  // namespace

FilterInterest interest_of(std::string_view filter, bool short_topics) {
  if (filter.starts_with("$share/")) {
    size_t slash = filter.find('/', 7);
    if (slash == std::string_view::npos) return {};
    filter = filter.substr(slash + 1);
  }
  std::vector<std::string_view> f = levels_of(filter);
  FilterInterest all{FilterInterest::Kind::kAll, {}};
  // $aws/things/T/shadow/...  ('+' and '#' in the first level never match a
  // topic starting with '$').
  if (f[0] == "$aws") {
    if (f.size() < 2) return {};
    if (f[1] == "#") return all;
    if (f[1] != "+" && f[1] != "things") return {};
    if (f.size() < 3) return {};
    if (f[2] == "#") return all;
    if (!matches_shadow_part(f, 3)) return {};
    if (f[2] == "+") return all;
    return {FilterInterest::Kind::kThing, std::string(f[2])};
  }
  if (!short_topics || f[0].starts_with("$")) return {};
  // T/shadow/...
  if (f[0] == "#") return all;
  if (!matches_shadow_part(f, 1)) return {};
  if (f[0] == "+") return all;
  return {FilterInterest::Kind::kThing, std::string(f[0])};
}

void InterestTable::count(const FilterInterest& interest, int delta, Change* change) {
  if (interest.kind == FilterInterest::Kind::kAll) {
    if (delta > 0 && all_refs_++ == 0) change->all_on = true;
    if (delta < 0 && all_refs_ > 0 && --all_refs_ == 0) change->all_off = true;
    return;
  }
  if (delta > 0) {
    if (thing_refs_[interest.thing]++ == 0) change->things_on.push_back(interest.thing);
    return;
  }
  auto it = thing_refs_.find(interest.thing);
  if (it == thing_refs_.end()) return;
  if (--it->second == 0) {
    change->things_off.push_back(interest.thing);
    thing_refs_.erase(it);
  }
}

InterestTable::Change InterestTable::subscribed(const std::string& client, std::string_view filter) {
  Change change;
  FilterInterest interest = interest_of(filter, short_topics_);
  if (interest.kind == FilterInterest::Kind::kNone) return change;
  if (!filters_[client].insert(std::string(filter)).second) return change;
  count(interest, +1, &change);
  return change;
}

InterestTable::Change InterestTable::unsubscribed(const std::string& client, std::string_view filter) {
  Change change;
  auto it = filters_.find(client);
  if (it == filters_.end()) return change;
  auto f = it->second.find(std::string(filter));
  if (f == it->second.end()) return change;
  it->second.erase(f);
  if (it->second.empty()) filters_.erase(it);
  count(interest_of(filter, short_topics_), -1, &change);
  return change;
}

InterestTable::Change InterestTable::client_gone(const std::string& client) {
  Change change;
  auto it = filters_.find(client);
  if (it == filters_.end()) return change;
  for (const std::string& filter : it->second) count(interest_of(filter, short_topics_), -1, &change);
  filters_.erase(it);
  return change;
}

bool InterestTable::wants(std::string_view thing) const {
  return all_refs_ > 0 || thing_refs_.count(std::string(thing)) > 0;
}

}  // namespace shadow::cluster
