// Fleet search: which things match a query, page by page, and statistics
// over the matches (docs/fleet.md#search). The engine of the search-index
// and get-statistics routes (search_api.h) and of fleet updates, which find
// their targets the same way.
//
// How it works: no index. Every search scans the shadows in key order
// (Store::scan_shadows), from the start of the thing-name prefix the query
// implies (thingName:line-7* reads only the things starting with "line-7")
// or after the thing the page token names, grouping each thing's shadows
// and evaluating the query on it. A page ends when it is full and the next
// match has been seen (or after kLookaheadThings more things, when a
// nextToken is returned anyway). docs/benchmarks/fleet.md measures the
// cost and explains why this beats a secondary index here.
//
// Consistency: each call reads one snapshot of the store taken when it
// starts (RocksDbStore), so a write acknowledged before the request is
// always seen and a page is never half of a write. Pages of one search are
// separate snapshots: a thing changed between two pages is seen as it was
// when its page was read, each thing at most once, in name order.
//
// Thread-safe; meant for HTTP worker threads, never the broker thread. At
// most kMaxConcurrentScans scans run at once, the others are refused
// (kUnavailable), so a burst of searches cannot take every core.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "plugin/fleet/connectivity.h"
#include "plugin/fleet/query/query.h"
#include "plugin/fleet/stored_thing.h"
#include "store/store.h"

namespace shadow::fleet {

struct SearchHit {
  std::string thing;
  std::string shadow;                        // result_shadow(); empty: no "shadow" member
  std::optional<Connectivity> connectivity;  // with the presence feature only
};

struct SearchPage {
  std::vector<SearchHit> things;
  // The thing the next page starts after; nullopt on the last page.
  std::optional<std::string> next_after;
  uint64_t things_read = 0;  // things the scan evaluated
};

struct Statistics {
  uint64_t count = 0;    // matching things (with a value of the field, when one is given)
  uint64_t numbers = 0;  // of those, things whose value is a number
  double sum = 0, minimum = 0, maximum = 0, sum_of_squares = 0;
};

// Walks the things of a scan: `on_thing` gets each thing whose name starts
// with `prefix` and sorts after `after_thing`, with its shadows in `thing`,
// until it returns false. *finished: the range was read to its end. The
// store's scan contract applies: `on_thing` must not call the store.
Status scan_things(Store& store, std::string_view after_thing, std::string_view prefix, StoredThing& thing,
                   const std::function<bool(StoredThing&)>& on_thing, bool* finished);

class FleetSearch {
 public:
  static constexpr size_t kLookaheadThings = 10000;
  static constexpr int kMaxConcurrentScans = 2;

  // `connectivity` may be null. Both must outlive the search.
  FleetSearch(Store& store, ConnectivitySource* connectivity) : store_(store), connectivity_(connectivity) {}

  // Up to `max_results` matching things after `after_thing` ("" from the start).
  Status search(const Query& query, std::string_view after_thing, size_t max_results, SearchPage* out);

  // Count of the matching things; with `field`, of those that have a
  // value there, and sum/min/max/sum of squares of the numeric values.
  Status statistics(const Query& query, const Field* field, Statistics* out);

  ConnectivitySource* connectivity() const { return connectivity_; }

 private:
  // Takes one of the kMaxConcurrentScans slots; false when none is free.
  bool enter();
  void leave();

  Store& store_;
  ConnectivitySource* connectivity_;
  std::atomic<int> scans_{0};
};

}  // namespace shadow::fleet
