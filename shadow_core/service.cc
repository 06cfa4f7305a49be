#include "shadow_core/service.h"

#include <random>
#include <thread>

#include "shadow_core/delta.h"
#include "shadow_core/document.h"
#include "shadow_core/errors.h"
#include "shadow_core/history.h"
#include "shadow_core/names.h"
#include "shadow_core/page_token.h"
#include "shadow_core/request.h"
#include "shadow_core/responses.h"

namespace shadow {
namespace {

StoreKey key_of(const ShadowId& id) { return StoreKey{id.thing, id.shadow}; }

std::vector<TopicForm> event_forms(const Config& config) {
  if (!config.short_topics) return {TopicForm::kAws};
  switch (config.event_topics) {
    case EventTopics::kAws: return {TopicForm::kAws};
    case EventTopics::kShort: return {TopicForm::kShort};
    case EventTopics::kBoth: break;
  }
  return {TopicForm::kAws, TopicForm::kShort};
}

// What a stored record means for a request at `now`.
struct Current {
  std::optional<RecordStamp> stamp;  // what compare_and_set must find
  bool exists = false;               // a live shadow
  uint64_t version = 0;              // live version, tombstone version, or 0
  ShadowRecord record;
};

// The pageSize query value: nullopt when it is not a number in 1..max.
// Absent: `fallback`.
std::optional<size_t> page_size_of(std::optional<std::string_view> text, size_t fallback, size_t max) {
  if (!text) return fallback;
  size_t n = 0;
  bool digits = !text->empty() && text->size() <= 4;
  for (char c : *text) {
    if (c < '0' || c > '9') digits = false;
    else n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (!digits || n < 1 || n > max) return std::nullopt;
  return n;
}

}  // namespace

Service::Service(Config config, Store& store) : config_(std::move(config)), store_(store) {}

namespace {

ServiceResponse rejection(const Config& config, const ReplyAddress& to, const Rejection& error, int64_t now) {
  ServiceResponse r;
  r.status = error.code;
  r.client_token = to.client_token;
  std::optional<int64_t> ts;
  if (config.error_timestamp) ts = now;
  r.body = responses::error(error, ts, to.client_token);
  if (to.channel == Channel::kMqtt) r.messages.push_back({reply_topic(to.id, to.form, to.op, "rejected"), r.body});
  return r;
}

// Collects the reply and events of one request.
class Reply {
 public:
  Reply(const Config& config, const ServiceRequest& request) : config_(config), request_(request) {}

  ServiceResponse reject(const Rejection& error, const responses::Token& token) {
    return rejection(config_, ReplyAddress{request_.channel, request_.id, request_.form, request_.op, token},
                     error, request_.now);
  }

  // The accepted reply: on the requester's topic for MQTT; for REST on the
  // event topics when `publish_for_rest` says so.
  ServiceResponse accept(std::string body, bool publish_for_rest, const responses::Token& token) {
    ServiceResponse r;
    r.body = std::move(body);
    r.client_token = token;
    if (request_.channel == Channel::kMqtt) {
      r.messages.push_back({reply_topic(request_.id, request_.form, request_.op, "accepted"), r.body});
    } else if (request_.channel == Channel::kRest && publish_for_rest) {
      for (TopicForm form : event_forms(config_))
        r.messages.push_back({reply_topic(request_.id, form, request_.op, "accepted"), r.body});
    }
    return r;
  }

  void event(ServiceResponse& r, const char* suffix, const std::string& payload) {
    for (TopicForm form : event_forms(config_))
      r.messages.push_back({reply_topic(request_.id, form, Operation::kUpdate, suffix), payload});
  }

  // An update/accepted that answers no request (a follow-up write), on the
  // event topic forms.
  void accepted_event(ServiceResponse& r, const std::string& payload) { event(r, "accepted", payload); }

  Rejection not_found() const {
    std::string name = request_.id.named() ? request_.id.shadow : request_.id.thing;
    if (request_.channel == Channel::kRest && request_.id.named() && config_.rest_not_found_thing_tilde_shadow)
      name = request_.id.thing + "~" + request_.id.shadow;
    return Rejection{404, std::string(messages::kNoShadowPrefix) + name + "'"};
  }

 private:
  const Config& config_;
  const ServiceRequest& request_;
};

Rejection internal_error() { return Rejection{500, messages::kInternal}; }

std::optional<Rejection> validate_id(const ShadowId& id, const Config& config) {
  if (auto e = validate_thing_name(id.thing, config)) return e;
  if (id.named()) return validate_shadow_name(id.shadow, config);
  return std::nullopt;
}

}  // namespace

std::optional<ServiceRequest> Service::mqtt_request(std::string_view topic, std::string_view payload,
                                                    int64_t now) const {
  if (!may_be_request_topic(topic, config_.short_topics)) return std::nullopt;
  auto parsed = parse_request_topic(topic, config_.short_topics);
  if (!parsed) return std::nullopt;
  // A short-form topic with names no shadow can have is an application's own
  // topic that happens to look like ours (e.g. "site.a/shadow/update"): leave
  // it alone rather than answer it. The AWS form is ours, so it gets a 400.
  if (parsed->form == TopicForm::kShort && validate_id(parsed->id, config_)) return std::nullopt;
  ServiceRequest request;
  request.channel = Channel::kMqtt;
  request.op = parsed->op;
  request.id = std::move(parsed->id);
  request.form = parsed->form;
  request.payload = payload;
  request.now = now;
  return request;
}

std::optional<ServiceResponse> Service::handle_mqtt(std::string_view topic, std::string_view payload, int64_t now) {
  auto request = mqtt_request(topic, payload, now);
  if (!request) return std::nullopt;
  return handle(*request);
}

Service::ShadowLock Service::lock(const ShadowId& id) {
  size_t h = std::hash<std::string>{}(id.thing) * 31 + std::hash<std::string>{}(id.shadow);
  return ShadowLock(locks_[h % kLockStripes]);
}

ServiceResponse Service::handle(const ServiceRequest& request) {
  ShadowLock held = lock(request.id);
  return handle(request, held);
}

ServiceResponse Service::handle(const ServiceRequest& request, const ShadowLock& /*held*/) {
  switch (request.op) {
    case Operation::kGet: return get(request);
    case Operation::kUpdate: return update(request);
    case Operation::kDelete: return remove(request);
  }
  return Reply(config_, request).reject(internal_error(), std::nullopt);
}

ServiceResponse Service::reject(const ReplyAddress& to, const Rejection& why, int64_t now) const {
  return rejection(config_, to, why, now);
}

ReplyAddress Service::reply_address(const ServiceRequest& request) const {
  ReplyAddress to{request.channel, request.id, request.form, request.op, std::nullopt};
  if (request.channel == Channel::kMqtt && request.payload.size() <= config_.max_payload_bytes)
    to.client_token = extract_client_token(request.payload, config_);
  return to;
}

Service::Stats Service::stats() const {
  return Stats{write_retries_.load(std::memory_order_relaxed), write_gave_up_.load(std::memory_order_relaxed)};
}

bool Service::retry_after_conflict(int attempt, std::chrono::steady_clock::time_point started, bool pause) {
  auto deadline = started + std::chrono::milliseconds(config_.write_conflict_deadline_ms);
  // Jittered exponential pause (0.5..1 x 1 ms, 2 ms, ... capped at 64 ms), so
  // that writers on several brokers that collided do not collide again.
  std::chrono::microseconds wait{0};
  if (pause) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    int64_t cap_us = int64_t{1000} << std::min(attempt, 6);
    wait = std::chrono::microseconds(cap_us / 2 + static_cast<int64_t>(rng() % (cap_us / 2 + 1)));
  }
  if (std::chrono::steady_clock::now() + wait > deadline) {
    write_gave_up_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  write_retries_.fetch_add(1, std::memory_order_relaxed);
  if (pause) std::this_thread::sleep_for(wait);
  return true;
}

namespace {


// Reads the record of `id` and interprets tombstones and their retention.
// `for_update`: Store::get_for_update, whose answer may be stale.
Status read_current(Store& store, const ShadowId& id, int64_t now, const Config& config, Current* out,
                    bool for_update = false) {
  Status st = for_update ? store.get_for_update(key_of(id), &out->record) : store.get(key_of(id), &out->record);
  if (st.is_not_found()) return Status::ok();
  if (!st.is_ok()) return st;
  out->stamp = stamp_of(out->record);
  if (!out->record.deleted) {
    out->exists = true;
    out->version = out->record.version;
  } else {
    bool expired = config.tombstone_retention_s > 0 && now - out->record.deleted_at >= config.tombstone_retention_s;
    out->version = expired ? 0 : out->record.version;
  }
  return Status::ok();
}

history::Writer writer_of(const ServiceRequest& request) {
  std::string_view channel = request.origin;
  if (channel.empty()) channel = request.channel == Channel::kMqtt ? "mqtt" : "rest";
  return history::Writer{channel, request.identity};
}

void append_also_write(const ServiceRequest& request, std::vector<ItemChange>* items) {
  if (request.also_write != nullptr) items->insert(items->end(), request.also_write->begin(), request.also_write->end());
}

}  // namespace

ServiceResponse Service::get(const ServiceRequest& request) {
  Reply reply(config_, request);
  responses::Token token;
  if (request.channel == Channel::kMqtt) token = extract_client_token(request.payload, config_);
  if (auto e = validate_id(request.id, config_)) return reply.reject(*e, token);

  Current current;
  if (!read_current(store_, request.id, request.now, config_, &current).is_ok())
    return reply.reject(internal_error(), token);
  if (!current.exists) return reply.reject(reply.not_found(), token);
  ShadowDocument doc;
  if (!doc.load(current.record.document)) return reply.reject(internal_error(), token);
  Delta delta = compute_delta(doc, doc.allocator());
  return reply.accept(responses::get_accepted(doc, delta, request.now, token), false, token);
}

ServiceResponse Service::update(const ServiceRequest& request) {
  Reply reply(config_, request);
  if (request.payload.size() > config_.max_payload_bytes) return reply.reject(Rejection{413, messages::kTooLarge}, {});
  UpdateRequest parsed;
  if (auto e = parse_update(request.payload, config_, &parsed)) return reply.reject(*e, parsed.client_token);
  const responses::Token& token = parsed.client_token;
  if (auto e = validate_id(request.id, config_)) return reply.reject(*e, token);

  const auto started = std::chrono::steady_clock::now();
  for (int attempt = 0;; ++attempt) {
    // The first read may come from the store's cache (Store::get_for_update):
    // the write refuses a stale base, and a rejection decided from it is
    // checked again with a fresh read. A versioned update reads fresh at
    // once: its version check is a decision.
    const bool cached = attempt == 0 && !parsed.version;
    Current current;
    if (!read_current(store_, request.id, request.now, config_, &current, cached).is_ok())
      return reply.reject(internal_error(), token);
    if (parsed.version && *parsed.version != current.version)
      return reply.reject(Rejection{409, messages::kVersionConflict}, token);

    ShadowDocument doc;
    if (current.exists && !doc.load(current.record.document)) {
      if (cached) continue;
      return reply.reject(internal_error(), token);
    }
    // The delta before this update, only needed to suppress an unchanged one.
    std::optional<json::Document> before_pool;
    Delta before;
    if (!config_.delta_on_unchanged) {
      before_pool.emplace();
      before = compute_delta(doc, before_pool->GetAllocator());
    }
    doc.apply(parsed, request.now);
    doc.set_version(current.version + 1);
    ShadowRecord next;
    next.version = doc.version();
    size_t state_bytes = 0;
    next.document = responses::snapshot(doc, &state_bytes);
    if (state_bytes > config_.max_document_bytes) {
      if (cached) continue;
      return reply.reject(Rejection{413, messages::kTooLarge}, token);
    }

    // The history entry of this version goes in the same write, after the
    // deletes that keep the newest history_versions entries.
    std::vector<ItemChange> items;
    if (config_.history_versions > 0) {
      if (!history::prune(store_, key_of(request.id), next.version, config_.history_versions, current.version == 0, &items)
               .is_ok())
        return reply.reject(internal_error(), token);
      items.push_back(ItemChange{std::string(history::kSpace),
                                 history::key(request.id.thing, request.id.shadow, next.version),
                                 history::update_entry(next.document, next.version, request.now, writer_of(request),
                                                       token)});
    }
    append_also_write(request, &items);

    // The answer is built before the write: a shared store sends its
    // messages to the other brokers with the write itself.
    json::Value echo_meta = metadata_of(*parsed.state, request.now, doc.allocator());
    ServiceResponse r = reply.accept(
        responses::update_accepted(*parsed.state, echo_meta, next.version, request.now, token),
        config_.rest_update_publishes_accepted, token);
    Delta delta = compute_delta(doc, doc.allocator());
    bool unchanged = !config_.delta_on_unchanged && !before.empty() && !delta.empty() &&
                     json::equal(before.state, delta.state);
    if (!delta.empty() && !unchanged) reply.event(r, "delta", responses::delta(delta, next.version, request.now, token));
    const std::string* previous = current.exists ? &current.record.document : nullptr;
    reply.event(r, "documents",
                responses::documents(previous, config_.documents_previous_null, next.document, request.now, token));
    r.written = WrittenStamps{current.stamp, stamp_of(next)};

    Status st = write(request.id, *r.written, next, r.messages, items);
    // A stale cached base is retried at once with a fresh read; a conflict
    // with another writer backs off first.
    if (st.is_conflict() && retry_after_conflict(attempt, started, /*pause=*/!cached)) continue;
    if (!st.is_ok()) return reply.reject(internal_error(), token);
    if (config_.clear_desired_on_match) clear_matched_desired(request, doc, stamp_of(next), r);
    return r;
  }
}

Status Service::write(const ShadowId& id, const WrittenStamps& stamps, const ShadowRecord& next,
                      const std::vector<OutMessage>& messages, const std::vector<ItemChange>& items) {
  if (!commit_events_) return store_.compare_and_set(key_of(id), stamps.before, next, items);
  std::string event = commit_events_(Commit{id, stamps, messages});
  return store_.compare_and_set_with_event(key_of(id), stamps.before, next, event, items);
}

namespace {

// The desired keys whose value equals the reported value, as an object of
// nulls (an update that removes them): equal values are nulled whole, two
// objects that differ are compared member by member. Empty when nothing
// matches.
json::Value matched_desired(const json::Value& desired, const json::Value& reported, json::Allocator& alloc) {
  json::Value nulls(rapidjson::kObjectType);
  for (auto it = desired.MemberBegin(); it != desired.MemberEnd(); ++it) {
    const json::Value* theirs = json::find(reported, json::view(it->name));
    if (theirs == nullptr) continue;
    if (json::equal(it->value, *theirs)) {
      nulls.AddMember(json::Value(it->name, alloc), json::Value(rapidjson::kNullType), alloc);
    } else if (it->value.IsObject() && theirs->IsObject()) {
      json::Value inner = matched_desired(it->value, *theirs, alloc);
      if (inner.MemberCount() > 0) nulls.AddMember(json::Value(it->name, alloc), inner, alloc);
    }
  }
  return nulls;
}

}  // namespace

void Service::clear_matched_desired(const ServiceRequest& request, ShadowDocument& doc, RecordStamp written,
                                    ServiceResponse& r) {
  Reply reply(config_, request);
  const auto started = std::chrono::steady_clock::now();
  std::optional<RecordStamp> expected = written;
  std::optional<ShadowDocument> reread;  // after a conflict: what the other writer stored
  ShadowDocument* d = &doc;
  for (int attempt = 0;; ++attempt) {
    if (d->desired() == nullptr || d->reported() == nullptr) return;
    json::Document scratch;
    json::Value nulls = matched_desired(*d->desired(), *d->reported(), scratch.GetAllocator());
    if (nulls.MemberCount() == 0) return;
    // The follow-up is an ordinary update request, so that it is validated,
    // merged and stamped exactly like one a client could send.
    json::Value state(rapidjson::kObjectType);
    state.AddMember("desired", nulls, scratch.GetAllocator());
    json::Value body(rapidjson::kObjectType);
    body.AddMember("state", state, scratch.GetAllocator());
    UpdateRequest follow_up;
    if (parse_update(json::write(body), config_, &follow_up)) return;  // cannot happen: nulls only

    std::string previous = responses::snapshot(*d);
    d->apply(follow_up, request.now);
    d->set_version(expected->version + 1);
    ShadowRecord next;
    next.version = d->version();
    next.document = responses::snapshot(*d);
    // Like any update: its history entry rides in the same write, and its
    // events are built first so that a shared store can carry them.
    std::vector<ItemChange> items;
    if (config_.history_versions > 0) {
      if (!history::prune(store_, key_of(request.id), next.version, config_.history_versions, false, &items).is_ok())
        return;  // the request itself succeeded; the keys stay until the next update
      items.push_back(ItemChange{std::string(history::kSpace),
                                 history::key(request.id.thing, request.id.shadow, next.version),
                                 history::update_entry(next.document, next.version, request.now, writer_of(request),
                                                       std::nullopt)});
    }
    ServiceResponse events;
    json::Value echo_meta = metadata_of(*follow_up.state, request.now, d->allocator());
    reply.accepted_event(events, responses::update_accepted(*follow_up.state, echo_meta, next.version, request.now,
                                                            std::nullopt));
    // No delta event: the removed keys are, by definition, not in the delta.
    reply.event(events, "documents",
                responses::documents(&previous, config_.documents_previous_null, next.document, request.now,
                                     std::nullopt));
    Status st = write(request.id, WrittenStamps{*expected, stamp_of(next)}, next, events.messages, items);
    if (st.is_conflict() && retry_after_conflict(attempt, started)) {
      // Another process wrote meanwhile: start again from what it wrote.
      Current current;
      if (!read_current(store_, request.id, request.now, config_, &current).is_ok() || !current.exists) return;
      reread.emplace();
      d = &*reread;
      if (!d->load(current.record.document)) return;
      expected = current.stamp;
      continue;
    }
    if (!st.is_ok()) return;  // the request itself succeeded; the keys stay until the next update
    for (OutMessage& m : events.messages) r.messages.push_back(std::move(m));
    return;
  }
}

std::optional<std::string> Service::delta_document(const ShadowId& id, int64_t now, const ShadowLock& /*held*/) {
  if (validate_id(id, config_)) return std::nullopt;
  Current current;
  if (!read_current(store_, id, now, config_, &current).is_ok() || !current.exists) return std::nullopt;
  ShadowDocument doc;
  if (!doc.load(current.record.document)) return std::nullopt;
  Delta delta = compute_delta(doc, doc.allocator());
  if (delta.empty()) return std::nullopt;
  return responses::delta(delta, current.version, now, std::nullopt);
}

ServiceResponse Service::remove(const ServiceRequest& request) {
  Reply reply(config_, request);
  responses::Token token;
  if (request.channel == Channel::kMqtt) token = extract_client_token(request.payload, config_);
  if (auto e = validate_id(request.id, config_)) return reply.reject(*e, token);

  const auto started = std::chrono::steady_clock::now();
  for (int attempt = 0;; ++attempt) {
    Current current;
    if (!read_current(store_, request.id, request.now, config_, &current).is_ok())
      return reply.reject(internal_error(), token);
    if (!current.exists) return reply.reject(reply.not_found(), token);
    ShadowRecord tombstone;
    tombstone.deleted = true;
    tombstone.deleted_at = request.now;
    tombstone.version = current.version + (config_.tombstone_bumps_version ? 1 : 0);
    // With history on, the delete is an entry of its own (when it has a
    // version of its own), and the shadow joins the purge queue.
    std::vector<ItemChange> items;
    if (config_.history_versions > 0) {
      if (tombstone.version != current.version) {
        if (!history::prune(store_, key_of(request.id), tombstone.version, config_.history_versions, false, &items)
                 .is_ok())
          return reply.reject(internal_error(), token);
        items.push_back(ItemChange{std::string(history::kSpace),
                                   history::key(request.id.thing, request.id.shadow, tombstone.version),
                                   history::delete_entry(tombstone.version, request.now, writer_of(request), token)});
      }
      items.push_back(ItemChange{std::string(history::kPurgeSpace),
                                 history::purge_key(request.now, request.id.thing, request.id.shadow), ""});
    }
    append_also_write(request, &items);
    ServiceResponse r = reply.accept(responses::delete_accepted(current.version, request.now, token),
                                     config_.rest_delete_publishes_accepted, token);
    r.written = WrittenStamps{current.stamp, stamp_of(tombstone)};
    Status st = write(request.id, *r.written, tombstone, r.messages, items);
    if (st.is_conflict() && retry_after_conflict(attempt, started)) continue;
    if (!st.is_ok()) return reply.reject(internal_error(), token);
    return r;
  }
}

ServiceResponse Service::list_named_shadows(std::string_view thing, std::optional<std::string_view> page_size,
                                            std::optional<std::string_view> next_token, int64_t now) {
  ServiceRequest request;
  request.channel = Channel::kRest;
  request.id.thing = std::string(thing);
  request.now = now;
  Reply reply(config_, request);
  if (auto e = validate_thing_name(thing, config_)) return reply.reject(*e, {});

  auto limit = page_size_of(page_size, config_.list_default_page_size, config_.list_max_page_size);
  if (!limit)
    return reply.reject(Rejection{400, "pageSize must be between 1 and " + std::to_string(config_.list_max_page_size)},
                        {});
  std::string after;
  if (next_token) {
    auto decoded = decode_page_token(*next_token);
    if (!decoded || validate_shadow_name(*decoded, config_)) return reply.reject(Rejection{400, "Invalid nextToken"}, {});
    after = *decoded;
  }
  std::vector<std::string> names;
  bool more = false;
  if (!store_.list_named(thing, after, *limit, &names, &more).is_ok()) return reply.reject(internal_error(), {});
  std::optional<std::string> token;
  if (more && !names.empty()) token = encode_page_token(names.back());
  ServiceResponse r;
  r.body = responses::named_shadow_list(names, token, now);
  return r;
}

ServiceResponse Service::list_shadows(std::optional<std::string_view> page_size,
                                      std::optional<std::string_view> next_token, int64_t now) {
  ServiceRequest request;
  request.channel = Channel::kRest;
  request.now = now;
  Reply reply(config_, request);
  auto limit = page_size_of(page_size, kListAllDefaultPageSize, kListAllMaxPageSize);
  if (!limit)
    return reply.reject(Rejection{400, "pageSize must be between 1 and " + std::to_string(kListAllMaxPageSize)}, {});
  // The token is the last key returned: thing + '\0' + shadow (empty for a
  // classic shadow). Thing names never contain '\0'.
  StoreKey after;
  if (next_token) {
    auto decoded = decode_page_token(*next_token);
    size_t nul = decoded ? decoded->find('\0') : std::string::npos;
    if (nul == std::string::npos) return reply.reject(Rejection{400, "Invalid nextToken"}, {});
    after.thing = decoded->substr(0, nul);
    after.shadow = decoded->substr(nul + 1);
    if (validate_thing_name(after.thing, config_) ||
        (!after.shadow.empty() && validate_shadow_name(after.shadow, config_)))
      return reply.reject(Rejection{400, "Invalid nextToken"}, {});
  }
  std::vector<StoreKey> keys;
  bool more = false;
  if (!store_.list_shadows(after, *limit, &keys, &more).is_ok()) return reply.reject(internal_error(), {});
  std::optional<std::string> token;
  if (more && !keys.empty()) {
    std::string raw = keys.back().thing;
    raw.push_back('\0');
    raw += keys.back().shadow;
    token = encode_page_token(raw);
  }
  ServiceResponse r;
  r.body = responses::shadow_list(keys, token, now);
  return r;
}

ServiceResponse Service::history(std::string_view thing, std::string_view shadow,
                                 std::optional<std::string_view> from_version,
                                 std::optional<std::string_view> page_size, int64_t now) {
  ServiceRequest request;
  request.channel = Channel::kRest;
  request.id = ShadowId{std::string(thing), std::string(shadow)};
  request.now = now;
  Reply reply(config_, request);
  if (auto e = validate_id(request.id, config_)) return reply.reject(*e, {});
  if (config_.history_versions == 0)
    return reply.reject(Rejection{400, "Shadow history is off: start the broker with plugin_opt_history_versions N "
                                       "(N > 0) to keep the last N versions of every shadow"},
                        {});
  auto limit = page_size_of(page_size, kHistoryDefaultPageSize, kHistoryMaxPageSize);
  if (!limit)
    return reply.reject(Rejection{400, "pageSize must be between 1 and " + std::to_string(kHistoryMaxPageSize)}, {});
  uint64_t from = 0;
  if (from_version) {
    bool digits = !from_version->empty() && from_version->size() <= 19;
    for (char c : *from_version) {
      if (c < '0' || c > '9') digits = false;
      else from = from * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!digits) return reply.reject(Rejection{400, "fromVersion must be a version number (0 or more)"}, {});
  }
  const std::string prefix = history::prefix(thing, shadow);
  std::string after = from > 0 ? history::key(thing, shadow, from - 1) : "";
  std::vector<Item> entries;
  bool more = false;
  if (!store_.list_items(history::kSpace, prefix, after, *limit, &entries, &more).is_ok())
    return reply.reject(internal_error(), {});
  if (entries.empty() && from == 0) {
    // No history at all: is there a shadow (written before history was on)?
    ShadowRecord record;
    Status st = store_.get(key_of(request.id), &record);
    if (st.is_not_found() || (st.is_ok() && record.deleted)) return reply.reject(reply.not_found(), {});
    if (!st.is_ok()) return reply.reject(internal_error(), {});
  }
  std::string body = "{\"results\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) body += ',';
    body += entries[i].value;
  }
  body += ']';
  if (more && !entries.empty()) {
    std::optional<uint64_t> last = history::version_of_key(entries.back().key);
    if (last) body += ",\"nextVersion\":" + std::to_string(*last + 1);
  }
  body += ",\"timestamp\":" + std::to_string(now) + "}";
  ServiceResponse r;
  r.body = std::move(body);
  return r;
}

Status Service::purge_history(int64_t now, size_t limit, size_t* purged) {
  *purged = 0;
  if (config_.tombstone_retention_s <= 0) return Status::ok();
  std::vector<Item> due;
  bool more = false;
  Status st = store_.list_items(history::kPurgeSpace, "", "", limit, &due, &more);
  if (!st.is_ok()) return st;
  for (const Item& item : due) {
    // deleted_at (16 hex) '\0' thing '\0' shadow
    if (item.key.size() < 18 || item.key[16] != '\0') {
      st = store_.delete_item(history::kPurgeSpace, item.key);
      if (!st.is_ok()) return st;
      continue;
    }
    int64_t deleted_at = static_cast<int64_t>(std::stoull(item.key.substr(0, 16), nullptr, 16));
    if (now - deleted_at < config_.tombstone_retention_s) break;  // the queue is in delete order
    size_t nul = item.key.find('\0', 17);
    if (nul == std::string::npos) nul = item.key.size();
    ShadowId id{item.key.substr(17, nul - 17), nul < item.key.size() ? item.key.substr(nul + 1) : ""};
    ShadowLock held = lock(id);
    ShadowRecord record;
    st = store_.get(key_of(id), &record);
    if (!st.is_ok() && !st.is_not_found()) return st;
    // Still the tombstone of that delete, or no record at all (the store
    // dropped the expired tombstone itself, as RocksDbStore's compaction
    // does): its history goes. A shadow re-created since keeps its history
    // (and started it over if needed).
    if (st.is_not_found() || (record.deleted && record.deleted_at == deleted_at)) {
      const std::string prefix = history::prefix(id.thing, id.shadow);
      std::vector<Item> entries;
      do {
        st = store_.list_items(history::kSpace, prefix, "", 256, &entries, &more);
        if (!st.is_ok()) return st;
        for (const Item& e : entries) {
          st = store_.delete_item(history::kSpace, e.key);
          if (!st.is_ok()) return st;
        }
      } while (more);
      ++*purged;
    }
    st = store_.delete_item(history::kPurgeSpace, item.key);
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

}  // namespace shadow
