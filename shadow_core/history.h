// The shadow history (plugin_opt_history_versions N; docs/fleet.md#history):
// the last N versions of every shadow, written by the engine in the same
// store write as the shadow itself, read back by the history API, and
// removed with the shadow once its tombstone retention has passed.
//
// Layout in the store (items, store.h):
// - space "history", key thing + '\0' + shadow + '\0' + version as 16
//   lower-case hex digits, so a shadow's entries sort by version and share a
//   prefix that starts with its thing name. Value: the entry document
//   {"version":N,"timestamp":T,"operation":"update"|"delete","channel":...,
//    "identity":...,"clientToken"?:...,"state":{...},"metadata":{...}}
//   (a delete has no state or metadata).
// - space "history-purge", key deleted_at as 16 hex digits + '\0' + thing +
//   '\0' + shadow, empty value: written with every delete while history is
//   on, so the purge finds the shadows whose history is due without
//   scanning all history.
//
// Bounded disk use: a write adds the entry of its version and deletes the
// one that falls out of the newest N, in the same store write, without a
// read (versions are consecutive). After N was lowered, the entries beyond
// the new N go a few at a time: every kSweepEvery-th version of a shadow
// also deletes up to kMaxPrunePerWrite of its oldest entries. A shadow
// re-created after its tombstone expired restarts at version 1: its old
// entries go in the same write. Each entry is about the size of the stored
// document plus 100 bytes, so history costs up to N times the shadow data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace shadow::history {

inline constexpr std::string_view kSpace = "history";
inline constexpr std::string_view kPurgeSpace = "history-purge";
inline constexpr uint32_t kMaxVersions = 1000;  // the largest plugin_opt_history_versions
inline constexpr size_t kMaxPrunePerWrite = 64;
inline constexpr uint64_t kSweepEvery = 16;

// thing + '\0' + shadow + '\0': the prefix of every entry of one shadow.
std::string prefix(std::string_view thing, std::string_view shadow);
std::string key(std::string_view thing, std::string_view shadow, uint64_t version);
// The version of an entry key, or nullopt when it is not one.
std::optional<uint64_t> version_of_key(std::string_view key);
std::string purge_key(int64_t deleted_at, std::string_view thing, std::string_view shadow);

// Who wrote a version.
struct Writer {
  std::string_view channel;   // "mqtt", "rest", "fleet"
  std::string_view identity;  // client id, access key id, operation id; may be empty
};

// The entry of an accepted update, from the stored snapshot
// {"state":...,"metadata":...,"version":N} of the new version.
std::string update_entry(const std::string& snapshot, uint64_t version, int64_t now, const Writer& writer,
                         const std::optional<std::string>& client_token);
// The entry of a delete that left a tombstone at `version`.
std::string delete_entry(uint64_t version, int64_t now, const Writer& writer,
                         const std::optional<std::string>& client_token);

// The item changes that keep the newest `keep` entries of `key` once the
// entry of `new_version` is added: the delete of the entry that falls out
// and, every kSweepEvery-th version, of older ones left by a larger N.
// `restart`: the shadow starts over at version 1, so every existing entry
// is deleted (they are listed first).
Status prune(Store& store, const StoreKey& key, uint64_t new_version, uint32_t keep, bool restart,
             std::vector<ItemChange>* out);

}  // namespace shadow::history
