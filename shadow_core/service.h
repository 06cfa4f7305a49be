// The shadow service: the one entry point every adapter (MQTT plugin, REST
// server, CLI, tests) calls. It turns a request into the response and the
// MQTT messages to publish, reading and writing shadows only through a Store.
// It never throws. It reads no wall clock: the caller passes `now`, the one
// timestamp of a request.
//
// Per-shadow order. Requests on one shadow are applied one at a time in this
// process: handle() holds the shadow's lock (one of a fixed set of striped
// mutexes) from reading the record to writing it. That lock is the ordering
// guarantee of the whole product. The request pipeline
// (plugin/runtime/pipeline.h) takes it with lock() and keeps it while it
// hands the replies and events to the broker, so they leave in the order the
// engine applied the requests, whatever channel (MQTT, REST) they came from.
//
// Two other mechanisms look similar but exist for other reasons:
// - The store's compare-and-set makes each write conditional on the record
//   the engine read. Within one process it never fails (the lock above), but
//   when several processes share one store (several brokers on one Redis
//   Cluster) another broker may write between the read and the write. The
//   engine then re-reads and recomputes, after a short jittered pause that
//   grows with each attempt, for at most Config::write_conflict_deadline_ms;
//   past that the request gets a 500. stats() counts the retries.
// - A store may serialize its own read-compare-write (RocksDbStore does, per
//   key) because compare-and-set must be atomic whoever calls it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shadow_core/config.h"
#include "shadow_core/errors.h"
#include "shadow_core/topic.h"
#include "store/store.h"

namespace shadow {

class ShadowDocument;

// An MQTT message to publish: every reply, event and forwarded message of
// the product has this one type, from the engine to the broker.
struct OutMessage {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = false;
  // Empty: routed to every subscriber of `topic`. Otherwise delivered to
  // that one client only, whatever its subscriptions (a catch-up delta).
  std::string client_id = {};
  // Which rules led to this message (the rules engine's loop guard,
  // plugin/rules/engine/loop_guard.h); 0 for everything else. Carried
  // unchanged through hand-off and durable hold-back.
  uint64_t origin = 0;
};

// Where a request came from. kService: a request the service makes itself
// (a presence write): it is answered to no one, only its events (delta,
// documents) are published, and a rejection publishes nothing.
enum class Channel { kMqtt, kRest, kService };

struct ServiceRequest {
  Channel channel = Channel::kMqtt;
  Operation op = Operation::kGet;
  ShadowId id;
  TopicForm form = TopicForm::kAws;  // MQTT: the form of the request topic
  std::string_view payload;          // MQTT payload or REST body
  int64_t now = 0;                   // epoch seconds; one value for the whole request
  // Who sent it, recorded in the shadow history: the MQTT client id, the
  // REST access key id, a fleet operation id. May be empty.
  std::string_view identity;
  // The channel the history records: empty means "mqtt" or "rest" from
  // `channel`; a request the service makes itself names its feature ("fleet").
  std::string_view origin;
  // Items the caller wants written in the same store write as this
  // request's shadow (its own bookkeeping, e.g. a fleet update's progress).
  // Written only when the request writes the shadow; nullptr: none.
  const std::vector<ItemChange>* also_write = nullptr;
};

// A write a request made: the stamp of the record it replaced (nullopt:
// nothing was stored) and the stamp it wrote. Versions of one shadow only
// grow, and at one version a tombstone follows the live record, so stamps
// order the writes of a shadow (see stamp_before).
struct WrittenStamps {
  std::optional<RecordStamp> before;
  RecordStamp after;
};

// Whether `a` is an earlier state of a shadow than `b`: a lower version, or
// the same version live before deleted.
inline bool stamp_before(const RecordStamp& a, const RecordStamp& b) {
  return a.version != b.version ? a.version < b.version : (!a.deleted && b.deleted);
}

struct ServiceResponse {
  int status = 200;  // 200, or the error code of the rejection
  // The accepted or error document. For MQTT it is also the payload of
  // messages[0] (the /accepted or /rejected reply); for REST it is the body.
  std::string body;
  // MQTT publications in order: for MQTT the reply first, then events
  // (delta, documents); for REST and kService only the events its outcome
  // causes. With Config::clear_desired_on_match an update may be followed by
  // the events of its follow-up write (update/accepted, documents), after
  // the request's own.
  std::vector<OutMessage> messages;
  // The request's clientToken when it carried a valid one (echoed in every
  // reply), so that a later rejection of the same request can echo it too.
  std::optional<std::string> client_token;
  // The write this request made; nullopt when it wrote nothing (a get, a
  // rejection). Cluster mode orders this broker's publications with the
  // events of other brokers by it.
  std::optional<WrittenStamps> written;
  bool ok() const { return status == 200; }
};

// Enough of a request to answer it later, after its payload is gone: durable
// mode answers requests whose write could not be made durable with a 500.
struct ReplyAddress {
  Channel channel = Channel::kMqtt;
  ShadowId id;
  TopicForm form = TopicForm::kAws;
  Operation op = Operation::kGet;
  std::optional<std::string> client_token;
};

class Service {
 public:
  // `store` must outlive the service.
  Service(Config config, Store& store);

  const Config& config() const { return config_; }

  // Several brokers on one shared store (plugin_opt_store redis-cluster):
  // each write hands the store an event for the other brokers, which carries
  // the messages the write causes (Store::compare_and_set_with_event). The
  // encoder turns a write into that event; it runs on the thread of the
  // request, under the shadow's lock, and must be thread-safe. Unset (the
  // default) writes carry no event. Set it before the first request.
  struct Commit {
    const ShadowId& id;
    const WrittenStamps& stamps;
    const std::vector<OutMessage>& messages;  // what this broker publishes for the write
  };
  using CommitEventEncoder = std::function<std::string(const Commit&)>;
  void set_commit_event_encoder(CommitEventEncoder encoder) { commit_events_ = std::move(encoder); }

  // The lock that orders the requests of one shadow (see the file comment).
  using ShadowLock = std::unique_lock<std::mutex>;
  [[nodiscard]] ShadowLock lock(const ShadowId& id);

  // Applies a get, update or delete. Takes the shadow's lock for the call.
  ServiceResponse handle(const ServiceRequest& request);
  // The same, for a caller that already holds lock(request.id) and keeps it
  // while it hands the response on.
  ServiceResponse handle(const ServiceRequest& request, const ShadowLock& held);

  // The request an MQTT publish on `topic` makes, or nullopt when the topic
  // is not a shadow request. Cheap for the many topics that cannot be one.
  std::optional<ServiceRequest> mqtt_request(std::string_view topic, std::string_view payload,
                                             int64_t now) const;

  // mqtt_request() then handle(): for callers that need no lock of their own
  // (tests, benchmarks, the fuzzer). nullopt when the topic is not a request.
  std::optional<ServiceResponse> handle_mqtt(std::string_view topic, std::string_view payload,
                                             int64_t now);

  // The current delta document of `id` (the payload of an update/delta
  // event: version, timestamp, state, metadata; no clientToken), or nullopt
  // when the shadow does not exist, cannot be read or has an empty delta.
  // For a caller that holds lock(id): the catch-up delivery after a
  // subscription (plugin_opt_delta_on_subscribe).
  std::optional<std::string> delta_document(const ShadowId& id, int64_t now, const ShadowLock& held);

  // Refusals decided outside the engine (429 over the rate limit, 503 when
  // the broker cannot take more messages, 500 when a write did not become
  // durable), shaped exactly like the engine's own: the error document, and
  // for MQTT the /rejected reply to the requester.
  ServiceResponse reject(const ReplyAddress& to, const Rejection& why, int64_t now) const;
  // Where `request` is answered. For MQTT the clientToken is read from the
  // payload (unless the payload is over the size cap, which bounds the work
  // a flood of refused requests can cause).
  ReplyAddress reply_address(const ServiceRequest& request) const;

  // ListNamedShadowsForThing. page_size / next_token are the raw query values
  // (nullopt when absent). Body: {"results":[...],"nextToken"?,"timestamp"}.
  ServiceResponse list_named_shadows(std::string_view thing,
                                     std::optional<std::string_view> page_size,
                                     std::optional<std::string_view> next_token, int64_t now);

  // ListShadows: a mosquitto-shadow extension that AWS IoT does not have
  // (GET /api/shadows), so that a backup can find every shadow. Lists the
  // live shadows of every thing, classic and named, in key order (thing
  // bytes; a thing's classic shadow before its named shadows, those by name
  // bytes). pageSize is 1..kListAllMaxPageSize (default
  // kListAllDefaultPageSize), larger than ListNamedShadowsForThing's since a
  // backup reads everything; a bad pageSize or nextToken is a 400. Body:
  // {"results":[{"thingName":T},{"thingName":T,"shadowName":S},...],
  //  "nextToken"?,"timestamp"}; nextToken (opaque) only when more follow.
  // A page is a consistent read of each key, not a snapshot of the whole
  // store: shadows created or deleted meanwhile may or may not appear.
  static constexpr size_t kListAllDefaultPageSize = 100;
  static constexpr size_t kListAllMaxPageSize = 1000;
  ServiceResponse list_shadows(std::optional<std::string_view> page_size,
                               std::optional<std::string_view> next_token, int64_t now);

  // The shadow history (shadow_core/history.h; docs/fleet.md#history): up to
  // `page_size` entries (nullopt: 25; 1..100, else a 400) of a shadow from
  // version `from_version` on (nullopt: the oldest kept), oldest first. Body:
  // {"results":[entry,...],"nextVersion"?:N,"timestamp":T}; nextVersion is
  // the fromVersion of the next page, present when more entries follow. A
  // 400 when history is off; a 404 when the shadow neither exists nor has
  // history.
  static constexpr size_t kHistoryDefaultPageSize = 25;
  static constexpr size_t kHistoryMaxPageSize = 100;
  ServiceResponse history(std::string_view thing, std::string_view shadow, std::optional<std::string_view> from_version,
                          std::optional<std::string_view> page_size, int64_t now);

  // Removes the history of shadows whose tombstone has expired at `now`
  // (tombstone_retention_s after their delete), at most `limit` shadows per
  // call; *purged counts them. Nothing expires with tombstone_retention_s 0.
  // Takes each shadow's lock, so a shadow re-created meanwhile keeps its new
  // history. Runs whether or not history is on now (it may have been on).
  Status purge_history(int64_t now, size_t limit, size_t* purged);

  struct Stats {
    uint64_t write_retries = 0;  // compare-and-set conflicts retried (another process wrote)
    uint64_t write_gave_up = 0;  // requests answered 500 after write_conflict_deadline_ms
  };
  Stats stats() const;

 private:
  ServiceResponse get(const ServiceRequest& request);
  ServiceResponse update(const ServiceRequest& request);
  ServiceResponse remove(const ServiceRequest& request);
  // Config::clear_desired_on_match: after `request` wrote `doc` as version
  // doc.version() (stamp `written`), removes the desired keys equal to their
  // reported value in one further write and appends its events to `r`.
  void clear_matched_desired(const ServiceRequest& request, ShadowDocument& doc, RecordStamp written,
                             ServiceResponse& r);

  // compare_and_set, with the commit event when an encoder is set.
  Status write(const ShadowId& id, const WrittenStamps& stamps, const ShadowRecord& next,
               const std::vector<OutMessage>& messages, const std::vector<ItemChange>& items);

  // Re-read and recompute after a conflict? Sleeps a jittered, growing pause
  // first (unless `pause` is false: the write's base came from the store's
  // cache, and a fresh read is the remedy); false once the deadline has
  // passed (counted).
  bool retry_after_conflict(int attempt, std::chrono::steady_clock::time_point started, bool pause = true);

  Config config_;
  Store& store_;
  static constexpr size_t kLockStripes = 64;
  std::array<std::mutex, kLockStripes> locks_;
  std::atomic<uint64_t> write_retries_{0};
  std::atomic<uint64_t> write_gave_up_{0};
  CommitEventEncoder commit_events_;
};

}  // namespace shadow
