// The storage contract of the shadow service.
//
// A Store keeps one record per shadow, addressed by (thing, shadow name); the
// classic shadow has an empty shadow name. The store does not understand the
// document: it keeps the bytes the engine gives it, plus the few fields it
// needs for compare-and-set, tombstones and listing.
//
// Implementations must be safe to call from several threads at once (the
// broker thread and REST worker threads share one store). Nothing here may
// throw; every fallible call returns a Status (common/status.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shadow {

struct StoreKey {
  std::string thing;
  std::string shadow;  // empty: the classic (unnamed) shadow
};

struct ShadowRecord {
  // Last version of the shadow. In a tombstone: the version a re-created
  // shadow continues from.
  uint64_t version = 0;
  bool deleted = false;    // true: a tombstone left by a delete
  int64_t deleted_at = 0;  // epoch seconds of the delete (tombstones only)
  std::string document;    // engine-owned bytes; empty in tombstones
};

// What compare_and_set expects to find: the (version, deleted) pair of the
// record read earlier, or std::nullopt when nothing was stored.
struct RecordStamp {
  uint64_t version = 0;
  bool deleted = false;
  bool operator==(const RecordStamp&) const = default;
};

inline RecordStamp stamp_of(const ShadowRecord& r) { return {r.version, r.deleted}; }

// An item: a record of one of the plugin's other features (see Store).
struct Item {
  std::string key;
  std::string value;
};

// How put_item treats an item that already exists.
enum class ItemWrite { kReplace, kIfAbsent };

// An item written together with a shadow record by compare_and_set: the
// shadow history (plugin_opt_history_versions) and its purge queue.
struct ItemChange {
  std::string space;
  std::string key;
  std::optional<std::string> value;  // nullopt: delete the item (no error if absent)
};

// One live shadow as scan_shadows() shows it. The views are valid only
// during the visit.
struct ShadowEntry {
  std::string_view thing;
  std::string_view shadow;  // empty: the classic shadow
  uint64_t version = 0;
  std::string_view document;
};
// Returns false to stop the scan.
using ShadowVisitor = std::function<bool(const ShadowEntry&)>;

class Store {
 public:
  virtual ~Store() = default;

  // Reads the record of `key` into *out. Not-found when nothing is stored.
  // Tombstones are returned (deleted == true).
  virtual Status get(const StoreKey& key, ShadowRecord* out) = 0;

  // get() for a read-modify-write: the record a following compare_and_set
  // will be asked to replace. A store whose reads are network round trips
  // may answer from what it last read or wrote for `key` (RedisStore); the
  // answer may then be stale, but compare_and_set refuses a stale base as a
  // conflict, so a caller that retries after a conflict with get() writes
  // nothing wrong. Anything else decided from this answer (a rejection) must
  // be checked again with get().
  virtual Status get_for_update(const StoreKey& key, ShadowRecord* out) { return get(key, out); }

  // Atomically replaces the record of `key` with `next` if the stored record
  // matches `expected` (std::nullopt: nothing may be stored). A conflict when
  // it does not match; nothing is written then. Deleting a shadow is a
  // compare_and_set with a tombstone record (deleted == true).
  // When this returns OK the write is durable to the store's promise
  // (see the implementation's header).
  //
  // `items` are applied (in order) only when the record is written, and in
  // the same atomic write: a reader, or a restart after a crash, sees the
  // record and the items together or neither. MemoryStore and RocksDbStore
  // (one write batch) keep that promise. The engine passes items whose key
  // starts with the thing name of `key` followed by '\0' (space "history")
  // or with a 16-digit timestamp (space "history-purge"), so a partitioned
  // backend can place a shadow's history next to the shadow; a fleet update
  // passes its operation's progress record (space "fleet"), so that a
  // restart resumes right after the last shadow it updated. A
  // backend that cannot write them atomically must write the record first
  // and the items after it, never the other way round, and document it: a
  // crash in between then loses a history entry, never invents one.
  virtual Status compare_and_set(const StoreKey& key, const std::optional<RecordStamp>& expected,
                                 const ShadowRecord& next, const std::vector<ItemChange>& items = {}) = 0;

  // compare_and_set for stores shared by several brokers: when it writes, it
  // also delivers `event` to every process sharing the store, in the order
  // of the writes, so that one shadow's events arrive in version order
  // everywhere (RedisStore publishes it from inside its write). A store that
  // nobody else shares has no one to tell: by default this is a plain
  // compare_and_set and the event is dropped.
  virtual Status compare_and_set_with_event(const StoreKey& key, const std::optional<RecordStamp>& expected,
                                            const ShadowRecord& next, std::string_view /*event*/,
                                            const std::vector<ItemChange>& items = {}) {
    return compare_and_set(key, expected, next, items);
  }

  // Names of the live (not deleted) named shadows of `thing`, in byte order,
  // strictly greater than `after` (empty: from the first), at most `limit`.
  // *more is set to whether further live names exist after the last returned.
  virtual Status list_named(std::string_view thing, std::string_view after, size_t limit,
                            std::vector<std::string>* names, bool* more) = 0;

  // Every live (not deleted) shadow, classic and named, in key order: by
  // thing bytes, a thing's classic shadow before its named ones, named
  // shadows by name bytes. Returns at most `limit` keys strictly after
  // `after` (after.thing empty: from the first). *more is set to whether
  // further live shadows exist after the last returned. Tombstones are
  // skipped, so a page may read more records than it returns.
  // (A mosquitto-shadow extension for backups: AWS cannot list all shadows.)
  virtual Status list_shadows(const StoreKey& after, size_t limit, std::vector<StoreKey>* keys,
                              bool* more) = 0;

  // Every live shadow, with its document, of the things whose name starts
  // with `thing_prefix` and is strictly greater than `after_thing` (empty:
  // from the first), in the key order of list_shadows: a thing's shadows are
  // visited one after another, its classic shadow first. Calls `visit` for
  // each until it returns false or the range ends. Tombstones are skipped.
  // This is how fleet search and fleet updates read the store: a caller
  // pages by thing, passing the last thing it finished as `after_thing`.
  //
  // Consistency: every write acknowledged before the call is seen (with its
  // latest state, unless a later write changed it again). RocksDbStore reads
  // one snapshot taken at the start of the call, so a scan never sees half
  // of a concurrent write batch; writes made during the scan are not seen.
  // `visit` runs while the store may hold a lock or an iterator: it must not
  // call back into the store. It may run on the calling thread only.
  virtual Status scan_shadows(std::string_view after_thing, std::string_view thing_prefix,
                              const ShadowVisitor& visit) = 0;

  // --- items ------------------------------------------------------------------
  // The plugin's other features (rules, presence, fleet operations ...) keep
  // their records in the same store as the shadows, so that they share its
  // durability and, when several brokers share a store, every broker sees
  // them. An item is addressed by (space, key): `space` names the feature
  // ("rules", "presence"; no '\0'), `key` is the feature's own; values are
  // opaque bytes. Items and shadows never mix: the shadow calls above do not
  // see items.

  // Not-found when the item does not exist.
  virtual Status get_item(std::string_view space, std::string_view key, std::string* value) = 0;
  // kIfAbsent: a conflict (and nothing written) when the item exists.
  virtual Status put_item(std::string_view space, std::string_view key, std::string_view value,
                          ItemWrite mode = ItemWrite::kReplace) = 0;
  // OK also when the item does not exist.
  virtual Status delete_item(std::string_view space, std::string_view key) = 0;
  // Applies `changes` in order, like put_item (kReplace) and delete_item one
  // after the other. A backend that can write them together does (RocksDB:
  // one write batch, one write-ahead log record, all or nothing), which is
  // much cheaper for a feature that changes several items at once; this
  // default applies them one by one and stops at the first failure.
  virtual Status write_items(const std::vector<ItemChange>& changes) {
    for (const ItemChange& c : changes) {
      Status st = c.value ? put_item(c.space, c.key, *c.value) : delete_item(c.space, c.key);
      if (!st.is_ok()) return st;
    }
    return Status::ok();
  }
  // Items of `space` whose key starts with `prefix` and is strictly greater
  // than `after` (empty: from the first), in key byte order, at most `limit`;
  // *more says whether further ones exist.
  virtual Status list_items(std::string_view space, std::string_view prefix, std::string_view after,
                            size_t limit, std::vector<Item>* items, bool* more) = 0;

  // --- health -----------------------------------------------------------------
  // OK while the store can serve requests; otherwise unavailable, with the
  // reason, for as long as it cannot (a database in a background-error state
  // that has not recovered yet). For health checks; cheap, any thread.
  virtual Status health() const { return Status::ok(); }
};

}  // namespace shadow
