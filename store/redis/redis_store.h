// A Store kept in a Redis Cluster: the shared store of several brokers
// (plugin_opt_store redis-cluster). The same contract as the RocksDB store
// (store/store.h), checked by the same contract tests.
//
// Layout (every key carries the thing name as its hash tag, so all keys of
// one thing live in one slot, on one master, and one script can update them
// together; see redis_format below for the exact bytes):
//   <p>sh:{T}          string  the classic shadow's record
//   <p>sh:{T}:N        string  named shadow N's record
//   <p>ix:{T}          zset    names of T's live named shadows (score 0,
//                              byte order: list_named is one ZRANGE BYLEX)
//   <p>tx:{tag(s)}     zset    things of slot s with at least one live shadow
//                              (list_shadows merges the 16384 of them)
//   <p>ev:{T}          shard channel for events (compare_and_set_with_event)
//   <p>fh:{tag(s)}     shard channel: the events of every thing of slot s
//   <channel>:in       set     listeners of a channel: the names of the
//                              processes subscribed to it (<p>ev:{T}:in,
//                              <p>fh:{tag(s)}:in; see "Listeners" below)
//   <p>ih:{S}          hash    the items of space S: key -> value
//   <p>iz:{S}          zset    the item keys of space S (score 0, byte order)
// <p> is the key prefix (empty by default; tests give each store its own).
//
// Items (the other features' records, store.h) are kept per space, all of a
// space in one slot: listing by prefix is one ZRANGE BYLEX, and a write
// updates value and index atomically (a small script, WAIT-gated like
// shadows). The price: one space lives on one master, so a space with very
// many items or a very high write rate is bounded by one master (tens of
// thousands of writes a second); such a feature should split its records
// over several spaces.
//
// Writes. compare_and_set runs one Lua script on the slot's master that
// compares the stored (version, deleted) stamp with the expected one (and,
// when the record cache holds the record with that stamp, the whole record
// with the cached one: see record_cache.h), writes
// the record (a tombstone with a TTL if tombstone_ttl_s is set), updates both
// indexes and, if asked, publishes an event, all atomically: Redis runs one
// script at a time and a script's writes replicate as one unit. Every check
// comes before the first write, so a refused script changes nothing.
//
// Durability (what kOk from compare_and_set promises). Redis replicates
// asynchronously: a master acknowledges a write before any replica has it,
// and a failover can then promote a replica that never got it (the write is
// lost, and its version number is handed out again). So after the script the
// store sends WAIT <wait_replicas> <wait_timeout> on the same connection and
// returns kOk only if that many replicas confirmed they hold the write.
// If fewer did in time, the write is on the master but may not survive a
// failover: the outcome is unknown, and compare_and_set returns an error
// (never kOk). The same goes for a write sent to a master that died before
// answering. What WAIT does not promise:
// - the replica's copy is in memory, not on disk (Redis 7.0 has no WAITAOF);
//   losing master and replica together (power cut of both) can lose it;
// - Redis Cluster may, in rare double faults, promote a replica other than
//   the one that confirmed (with more than one replica per master);
// - a write that returned an error may still be there (it may also be
//   gone): callers must treat an error as "unknown", as after any 500.
// Run the masters with min-replicas-to-write 1 so that a master cut off from
// its replicas refuses writes instead of accepting ones WAIT cannot confirm.
//
// Listeners. A process that subscribes to an event channel first adds its
// name (RedisStoreOptions::listener_id) to the channel's listeners set, on
// the node it then subscribes on, and removes it when it unsubscribes. A
// write publishes its event on a channel only when the set holds a name
// other than the writer's own: nothing is published for things nobody else
// watches (a process that alone listens never gets its own events back; with
// others listening it does, and must drop them itself). publish_event does
// not look at the sets (see there). A name left behind
// (a process killed before it could remove it) only costs events published
// to nobody. Subscribing after the name is in the set keeps this exact: a
// script that runs after the subscription sees the name (docs/scale-out.md).
//
// Reads go to the slot's master, so a read after a kOk write sees it.
// get_for_update may answer from the record cache instead (store.h).
// list_shadows is not a snapshot: see its comment.
//
// Errors. Connection errors, failovers (CLUSTERDOWN, a dead master),
// resharding (MOVED, ASK, TRYAGAIN) and LOADING are retried with backoff
// until the request timeout (cluster_client.h); then the call returns
// kUnavailable with the reason, as does a write whose outcome is unknown
// (see Durability). A stored record that cannot be decoded, or a reply
// Redis should never send, is kIoError; a thing name with braces is
// kInvalidArgument. Nothing here throws.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/redis/cluster_client.h"
#include "store/redis/record_cache.h"
#include "store/redis/write_batcher.h"
#include "store/store.h"

namespace shadow {

struct RedisStoreOptions {
  redis::ClusterOptions cluster;  // seed nodes, TLS, AUTH, timeouts
  std::string key_prefix;         // prepended to every key and channel; no '{' or '}'
  // Replicas that must confirm a write before compare_and_set returns kOk
  // (WAIT). 0 turns the check off: faster, but a failover can then lose
  // acknowledged writes.
  int wait_replicas = 1;
  std::chrono::milliseconds wait_timeout{500};
  // Tombstones expire this long after the delete (0: they stay). Set it to
  // the engine's tombstone retention: after that the engine ignores them
  // anyway, and Redis memory is the expensive kind.
  int64_t tombstone_ttl_s = 0;
  // Shadow records kept for get_for_update (record_cache.h); 0 turns it off.
  size_t record_cache_entries = 10000;
  // This process's name in listener sets (see Listeners above): events of
  // its writes are published only when another name is in the set. Empty:
  // published whenever anyone listens.
  std::string listener_id;
};

// Reads a password from the first line of `path` (without the line end).
// Errors say what is wrong with the file.
StatusOr<std::string> read_password_file(const std::string& path);

class RedisStore final : public Store {
 public:
  // Checks the options and prepares the client; does not need the cluster to
  // be up (calls fail until it is, and health() says why). kInvalidArgument
  // (the message says what to fix) for bad options: no seed node, a key
  // prefix with braces, a command timeout not above the WAIT timeout,
  // unusable TLS files.
  static StatusOr<std::unique_ptr<RedisStore>> open(const RedisStoreOptions& options);
  ~RedisStore() override;

  // Store interface.
  Status get(const StoreKey& key, ShadowRecord* out) override;
  // From the record cache when it has the key (no round trip), else get().
  Status get_for_update(const StoreKey& key, ShadowRecord* out) override;
  // `items` are written after the record, once the record's write is
  // confirmed, one WAIT-gated write each: not atomically with it (they live
  // in their space's slot, not the thing's). A failure in between leaves the
  // record written and some items not, and returns the error (the outcome
  // of the request is then unknown, as after any error); the history is
  // then missing an entry, never holding one for a write that did not happen,
  // and a fleet update's progress record lags by one shadow, so an operation
  // resumed after such a failure updates that shadow once more (the broker
  // does not run on RedisStore yet; RocksDbStore writes both atomically).
  // All history entries live in one space, so on one master.
  Status compare_and_set(const StoreKey& key, const std::optional<RecordStamp>& expected,
                         const ShadowRecord& next, const std::vector<ItemChange>& items = {}) override;
  Status list_named(std::string_view thing, std::string_view after, size_t limit,
                         std::vector<std::string>* names, bool* more) override;
  // Merges the per-slot thing indexes of every master in byte order. Each
  // page reads every slot's index once (16384 small reads, pipelined per
  // master: tens of milliseconds), plus two reads per listed thing; the cost
  // depends on the page size, not on the number of shadows. Not a snapshot:
  // slots are read one after another, so shadows created or deleted during
  // a page may or may not appear; each key appears at most once across the
  // pages of one listing, since every page starts strictly after `after`.
  Status list_shadows(const StoreKey& after, size_t limit, std::vector<StoreKey>* keys,
                           bool* more) override;
  // Pages through list_shadows (1000 keys a page, starting at the prefix)
  // and reads each shadow: two reads per shadow and the per-page merge of
  // list_shadows, so a full-fleet scan costs far more than on RocksDB. Not a
  // snapshot: every write acknowledged before the call is seen; writes made
  // during the scan may or may not be. `visit` runs on the calling thread,
  // between reads.
  Status scan_shadows(std::string_view after_thing, std::string_view thing_prefix,
                      const ShadowVisitor& visit) override;

  // Items (store.h). A space name may not contain '{' or '}'
  // (kInvalidArgument). put_item and delete_item are WAIT-gated like
  // compare_and_set.
  Status get_item(std::string_view space, std::string_view key, std::string* value) override;
  Status put_item(std::string_view space, std::string_view key, std::string_view value,
                  ItemWrite mode = ItemWrite::kReplace) override;
  Status delete_item(std::string_view space, std::string_view key) override;
  Status list_items(std::string_view space, std::string_view prefix, std::string_view after, size_t limit,
                    std::vector<Item>* items, bool* more) override;

  // compare_and_set that, when it writes, also publishes `event` on the
  // thing's shard channel (redis_format::event_channel) and on its slot's
  // firehose channel (redis_format::firehose_channel) inside the same
  // script, each only if another process listens (see Listeners): the
  // event goes out if and only if the write happened, and events of one
  // thing leave in commit (version) order. Note that the event is published
  // before WAIT confirms the write (see the plugin integration notes in
  // docs/scale-out.md). An empty event publishes nothing.
  // `items` are written after the record, as by compare_and_set.
  Status compare_and_set_with_event(const StoreKey& key, const std::optional<RecordStamp>& expected,
                                    const ShadowRecord& next, std::string_view event,
                                    const std::vector<ItemChange>& items = {}) override;

  // Publishes `event` on the thing's shard channel and its slot's firehose
  // channel, outside any write, whoever listens: for messages that answer a
  // request without writing (get/accepted, rejections), which other
  // brokers' subscribers see too. Plain SPUBLISH rather than a script that
  // checks the listener sets: a master without its replica
  // (min-replicas-to-write) refuses every script that may write, and a
  // read-only script cannot publish. Never retried once sent (a retry could
  // deliver it twice).
  Status publish_event(std::string_view thing, std::string_view event);

  // For /healthz and start-up logs: every slot has a reachable master, and
  // each master has at least wait_replicas connected replicas. Otherwise
  // kUnavailable saying what is wrong.
  Status health();

  struct Counters {
    redis::ClusterClient::Counters cluster;
    uint64_t unconfirmed_writes = 0;  // written, but WAIT did not confirm in time
    uint64_t script_loads = 0;        // NOSCRIPT answered with EVAL (new or failed-over master)
    redis::WriteBatcher::Counters batches;
  };
  Counters counters();

  redis::ClusterClient& client() { return *client_; }
  const RedisStoreOptions& options() const { return options_; }

 private:
  RedisStore(const RedisStoreOptions& options, std::unique_ptr<redis::ClusterClient> client);
  // Runs one of our scripts (EVALSHA, falling back to EVAL on NOSCRIPT) on
  // the master of `slot`, followed by WAIT when wait_replicas > 0. Returns
  // the script's reply in *result; an error when the outcome is unknown
  // (no reply, or WAIT not confirmed) or Redis refused the script.
  // `what` names the write in error messages.
  Status run_script(int slot, const std::string& script, const std::string& sha1, std::vector<std::string> keys,
                    std::vector<std::string> args, const std::string& what, redis::Reply* result);
  // Reads one command per entry (slot, command) with as few round trips as
  // possible: one pipeline per master, then single retried reads for any
  // reply that was redirected or refused.
  Status read_many(const std::vector<std::pair<int, redis::Command>>& commands, std::vector<redis::Reply>* replies);
  // Appends to *out the live shadows of `things` (sorted) after `after`,
  // until *out holds `want` keys.
  Status expand_things(const std::vector<std::string>& things, const StoreKey& after, size_t want,
                       std::vector<StoreKey>* out);

  RedisStoreOptions options_;
  std::unique_ptr<redis::ClusterClient> client_;
  redis::WriteBatcher writes_;  // every script write goes through it
  redis::RecordCache cache_;
  std::atomic<uint64_t> unconfirmed_writes_{0};
  std::atomic<uint64_t> script_loads_{0};
};

// The keys and values in Redis, exposed so that tests can pin them.
// Changing them needs a new format character and a reader for the old one.
namespace redis_format {

// A thing name that cannot be stored: empty, or containing '{' or '}' (it
// would break the hash tag). AWS thing names never contain braces.
bool valid_thing(std::string_view thing);

std::string shadow_key(std::string_view prefix, std::string_view thing, std::string_view shadow);
std::string index_key(std::string_view prefix, std::string_view thing);
std::string things_key(std::string_view prefix, int slot);  // slot = redis::key_slot of shadow_key
std::string event_channel(std::string_view prefix, std::string_view thing);
// The firehose of `slot`: every event of the slot's things is published on it
// too, for brokers with wildcard subscribers (a shard channel has no
// patterns). Tagged like things_key, so it lives in the slot it serves.
std::string firehose_channel(std::string_view prefix, int slot);
// The listeners set of a channel: the channel's name and ":in", so it lives
// in the channel's slot, next to the keys whose writes publish on it.
std::string listeners_key(std::string_view channel);

// Value, format '1': a fixed ASCII header, then the document bytes.
//   [0]       '1'
//   [1..16]   version, 16 lowercase hex digits
//   [17]      '1' tombstone, '0' live
//   [18..33]  deleted_at (epoch seconds), 16 lowercase hex digits of its
//             two's complement
//   [34..]    document
// The first 18 bytes are the record's stamp: the script compares them with
// the expected stamp as bytes, so it never does arithmetic on versions
// (Lua numbers are doubles, exact only below 2^53).
inline constexpr size_t kHeaderSize = 34;
inline constexpr size_t kStampSize = 18;
std::string encode_record(const ShadowRecord& record);
std::string encode_stamp(const RecordStamp& stamp);
// kIoError (with a reason) for short values, unknown formats, bad digits.
Status decode_record(std::string_view value, ShadowRecord* out);

// Item keys: the values (hash) and the key index (sorted set) of a space.
std::string item_values_key(std::string_view prefix, std::string_view space);
std::string item_index_key(std::string_view prefix, std::string_view space);
// The ZRANGE BYLEX bounds of "keys starting with `prefix`, strictly after
// `after`": {min, max}.
std::pair<std::string, std::string> item_range(std::string_view prefix, std::string_view after);

// The scripts (Lua), and their SHA1 as EVALSHA wants it.
const std::string& commit_script();
const std::string& item_put_script();
const std::string& item_delete_script();
std::string script_sha1(const std::string& script);

}  // namespace redis_format

}  // namespace shadow
