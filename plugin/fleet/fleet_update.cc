#include "plugin/fleet/fleet_update.h"

#include <ctime>

#include "plugin/fleet/search.h"
#include "plugin/fleet/stored_thing.h"
#include "plugin/rest/api.h"
#include "shadow_core/json.h"
#include "shadow_core/names.h"
#include "shadow_core/request.h"

namespace shadow::fleet {
namespace {

std::string key_of(const std::string& id) { return std::string(FleetUpdater::kKeyPrefix) + id; }

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > FleetUpdater::kMaxIdLength) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

void str(json::Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

std::optional<OperationStatus> status_of(std::string_view name) {
  for (OperationStatus s : {OperationStatus::kRunning, OperationStatus::kCompleted, OperationStatus::kCancelled,
                            OperationStatus::kFailed})
    if (name == status_name(s)) return s;
  return std::nullopt;
}

std::string record(const UpdateSpec& spec, const Progress& p) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  str(w, "operationId", spec.id);
  str(w, "queryString", spec.query);
  if (!spec.shadow.empty()) str(w, "shadowName", spec.shadow);
  w.Key("state");
  w.RawValue(spec.state.data(), spec.state.size(), rapidjson::kObjectType);
  str(w, "status", status_name(p.status));
  w.Key("matched");
  w.Uint64(p.matched);
  w.Key("updated");
  w.Uint64(p.updated);
  w.Key("failed");
  w.Uint64(p.failed);
  if (!p.last_thing.empty()) str(w, "lastThingName", p.last_thing);
  w.Key("createdAt");
  w.Int64(p.created_at);
  w.Key("updatedAt");
  w.Int64(p.updated_at);
  if (p.finished_at != 0) {
    w.Key("completedAt");
    w.Int64(p.finished_at);
  }
  if (!p.failure_thing.empty()) {
    w.Key("firstFailure");
    w.StartObject();
    str(w, "thingName", p.failure_thing);
    w.Key("code");
    w.Int(p.failure_code);
    str(w, "message", p.failure_message);
    w.EndObject();
  }
  if (!p.error.empty()) str(w, "error", p.error);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

// The inverse of record(); false for a record this version cannot read.
bool parse_record(const std::string& text, UpdateSpec* spec, Progress* p) {
  rapidjson::Document d;
  if (!json::parse(text, &d) || !d.IsObject()) return false;
  auto s = [&](const char* k) -> std::string {
    auto m = d.FindMember(k);
    return m != d.MemberEnd() && m->value.IsString() ? std::string(m->value.GetString(), m->value.GetStringLength())
                                                     : std::string();
  };
  auto n = [&](const char* k) -> int64_t {
    auto m = d.FindMember(k);
    return m != d.MemberEnd() && m->value.IsInt64() ? m->value.GetInt64() : 0;
  };
  spec->id = s("operationId");
  spec->query = s("queryString");
  spec->shadow = s("shadowName");
  auto state = d.FindMember("state");
  if (spec->id.empty() || state == d.MemberEnd() || !state->value.IsObject()) return false;
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  state->value.Accept(w);
  spec->state.assign(buf.GetString(), buf.GetSize());
  std::optional<OperationStatus> status = status_of(s("status"));
  if (!status) return false;
  p->status = *status;
  p->matched = static_cast<uint64_t>(n("matched"));
  p->updated = static_cast<uint64_t>(n("updated"));
  p->failed = static_cast<uint64_t>(n("failed"));
  p->last_thing = s("lastThingName");
  p->created_at = n("createdAt");
  p->updated_at = n("updatedAt");
  p->finished_at = n("completedAt");
  p->error = s("error");
  auto f = d.FindMember("firstFailure");
  if (f != d.MemberEnd() && f->value.IsObject()) {
    auto fm = [&](const char* k) { return f->value.FindMember(k); };
    if (fm("thingName") != f->value.MemberEnd() && fm("thingName")->value.IsString())
      p->failure_thing = fm("thingName")->value.GetString();
    if (fm("code") != f->value.MemberEnd() && fm("code")->value.IsInt()) p->failure_code = fm("code")->value.GetInt();
    if (fm("message") != f->value.MemberEnd() && fm("message")->value.IsString())
      p->failure_message = fm("message")->value.GetString();
  }
  return true;
}

// The "message" of an engine error document.
std::string message_of(const std::string& body) {
  rapidjson::Document d;
  if (json::parse(body, &d) && d.IsObject()) {
    auto m = d.FindMember("message");
    if (m != d.MemberEnd() && m->value.IsString()) return m->value.GetString();
  }
  return body;
}

}  // namespace

const char* status_name(OperationStatus s) {
  switch (s) {
    case OperationStatus::kRunning: return "RUNNING";
    case OperationStatus::kCompleted: return "COMPLETED";
    case OperationStatus::kCancelled: return "CANCELLED";
    case OperationStatus::kFailed: return "FAILED";
  }
  return "?";
}

FleetUpdater::FleetUpdater(Store& store, runtime::Pipeline& pipeline, runtime::BrokerOutput& out,
                           runtime::Wakeup* wakeup, ConnectivitySource* connectivity, int batch)
    : store_(store),
      pipeline_(pipeline),
      out_(out),
      wakeup_(wakeup),
      connectivity_(connectivity),
      batch_(static_cast<size_t>(batch > 0 ? batch : 1)) {}

std::string FleetUpdater::record_of(const FleetOperation& op) const { return record(op.spec, op.progress); }

Status FleetUpdater::persist(const FleetOperation& op) {
  return store_.put_item(kSpace, key_of(op.spec.id), record_of(op));
}

Status FleetUpdater::load() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string after;
  bool more = true;
  while (more) {
    std::vector<Item> items;
    Status st = store_.list_items(kSpace, kKeyPrefix, after, 256, &items, &more);
    if (!st.is_ok()) return st.with_context("loading fleet updates");
    for (const Item& item : items) {
      after = item.key;
      FleetOperation op;
      if (!parse_record(item.value, &op.spec, &op.progress)) {
        pipeline_.log_from_worker(runtime::LogLevel::kWarning,
                                  "fleet update record '" + item.key + "' cannot be read; it is ignored");
        continue;
      }
      auto q = Query::parse(op.spec.query);
      if (q.ok()) op.query = std::move(q).value();
      op.payload = "{\"state\":" + op.spec.state + ",\"clientToken\":\"" + op.spec.id + "\"}";
      if (op.progress.status == OperationStatus::kRunning && !op.query) {
        op.progress.status = OperationStatus::kFailed;
        op.progress.error = "the query no longer parses: " + q.status().message();
      }
      ops_[op.spec.id] = std::move(op);
    }
  }
  return Status::ok();
}

FleetUpdater::Result FleetUpdater::create(UpdateSpec spec, int64_t now) {
  if (spec.id.empty()) spec.id = rest::new_request_id();
  if (!valid_id(spec.id))
    return invalid(Outcome::kInvalid, "operationId must be 1 to 64 letters, digits, '-' or '_'");
  FleetOperation op;
  auto q = Query::parse(spec.query);
  if (!q.ok()) return invalid(Outcome::kInvalidQuery, q.status().message());
  op.query = std::move(q).value();
  const Config& config = pipeline_.service().config();
  if (!spec.shadow.empty()) {
    if (auto e = validate_shadow_name(spec.shadow, config)) return invalid(Outcome::kInvalid, "shadowName: " + e->message);
  }
  // The state must be a valid update of its own: the engine's own check.
  rapidjson::Document state;
  if (!json::parse(spec.state, &state) || !state.IsObject())
    return invalid(Outcome::kInvalid, "state must be an object such as {\"desired\":{\"fan\":\"on\"}}");
  for (auto& m : state.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    if (k != "desired" && k != "reported")
      return invalid(Outcome::kInvalid, "state may hold desired and reported only, not '" + std::string(k) + "'");
  }
  if (state.MemberCount() == 0) return invalid(Outcome::kInvalid, "state needs desired or reported");
  {
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    state.Accept(w);
    spec.state.assign(buf.GetString(), buf.GetSize());
  }
  op.payload = "{\"state\":" + spec.state + ",\"clientToken\":\"" + spec.id + "\"}";
  UpdateRequest parsed;
  if (auto e = parse_update(op.payload, config, &parsed)) return invalid(Outcome::kInvalid, "state: " + e->message);

  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = ops_.find(spec.id); it != ops_.end()) {
    const UpdateSpec& old = it->second.spec;
    rapidjson::Document old_state;
    bool same = old.query == spec.query && old.shadow == spec.shadow && json::parse(old.state, &old_state) &&
                json::equal(old_state, state);
    if (!same)
      return invalid(Outcome::kConflict, "fleet update '" + spec.id +
                                             "' exists with another request; choose another operationId");
    return Result{Outcome::kExisting, record_of(it->second)};
  }
  op.spec = std::move(spec);
  op.progress.created_at = op.progress.updated_at = now;
  Status st = store_.put_item(kSpace, key_of(op.spec.id), record_of(op), ItemWrite::kIfAbsent);
  if (!st.is_ok()) return invalid(Outcome::kError, "cannot store the fleet update: " + st.message());
  std::string body = record_of(op);
  ops_[op.spec.id] = std::move(op);
  if (wakeup_ != nullptr) wakeup_->request();
  return Result{Outcome::kCreated, std::move(body)};
}

FleetUpdater::Result FleetUpdater::describe(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ops_.find(id);
  if (it == ops_.end()) return invalid(Outcome::kNotFound, "no fleet update '" + id + "'");
  return Result{Outcome::kExisting, record_of(it->second)};
}

std::string FleetUpdater::list(const std::string& after, size_t limit, std::string* next) {
  std::lock_guard<std::mutex> lock(mu_);
  next->clear();
  std::string out = "[";
  size_t n = 0;
  for (auto it = ops_.upper_bound(after); it != ops_.end(); ++it) {
    if (n == limit) {
      *next = std::prev(it)->first;
      break;
    }
    if (n++ > 0) out += ',';
    out += record_of(it->second);
  }
  out += ']';
  return out;
}

FleetUpdater::Result FleetUpdater::cancel(const std::string& id, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ops_.find(id);
  if (it == ops_.end()) return invalid(Outcome::kNotFound, "no fleet update '" + id + "'");
  FleetOperation& op = it->second;
  if (op.progress.status == OperationStatus::kRunning) {
    Progress before = op.progress;
    op.progress.status = OperationStatus::kCancelled;
    op.progress.finished_at = op.progress.updated_at = now;
    Status st = persist(op);
    if (!st.is_ok()) {
      op.progress = before;
      return invalid(Outcome::kError, "cannot store the cancellation: " + st.message());
    }
  } else if (op.progress.status != OperationStatus::kCancelled) {
    return invalid(Outcome::kConflict, std::string("fleet update '") + id + "' has already finished (" +
                                           status_name(op.progress.status) + ")");
  }
  return Result{Outcome::kExisting, record_of(op)};
}

FleetUpdater::Result FleetUpdater::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ops_.find(id);
  if (it == ops_.end()) return invalid(Outcome::kNotFound, "no fleet update '" + id + "'");
  if (it->second.progress.status == OperationStatus::kRunning)
    return invalid(Outcome::kConflict, "fleet update '" + id + "' is running; cancel it first");
  Status st = store_.delete_item(kSpace, key_of(id));
  if (!st.is_ok()) return invalid(Outcome::kError, "cannot delete the fleet update: " + st.message());
  ops_.erase(it);
  return Result{Outcome::kExisting, "{}"};
}

int FleetUpdater::on_tick(int /*event*/, void* /*event_data*/) {
  const auto started = std::chrono::steady_clock::now();
  bool running;
  if (started < resume_at_) {
    running = true;  // resting after the last chunk
  } else {
    running = step(static_cast<int64_t>(std::time(nullptr)));
    const auto now = std::chrono::steady_clock::now();
    resume_at_ = now + (now - started);
  }
  if (running && wakeup_ != nullptr) wakeup_->request();
  return 0;
}

bool FleetUpdater::step(int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  // Round robin over the running operations, in id order after the last one.
  FleetOperation* next = nullptr;
  for (auto it = ops_.upper_bound(turn_); it != ops_.end() && next == nullptr; ++it)
    if (it->second.progress.status == OperationStatus::kRunning) next = &it->second;
  for (auto it = ops_.begin(); it != ops_.end() && next == nullptr; ++it)
    if (it->second.progress.status == OperationStatus::kRunning) next = &it->second;
  if (next == nullptr) return false;
  turn_ = next->spec.id;
  run_chunk(*next, now);
  for (const auto& [id, op] : ops_)
    if (op.progress.status == OperationStatus::kRunning) return true;
  return false;
}

bool FleetUpdater::run_chunk(FleetOperation& op, int64_t now) {
  const Query& query = *op.query;
  StoredThing thing(connectivity_);
  thing.set_depth(StoredThing::depth_for(query.needs_shadows(), query.needs_delta(), query.needs_metadata()));
  std::vector<std::string> targets;
  std::string last;
  size_t records = 0;
  bool finished = false;
  Status st = scan_things(store_, op.progress.last_thing, query.thing_prefix(), thing, [&](StoredThing& t) {
    if (targets.size() >= batch_ || records >= kRecordsPerPass) return false;
    records += t.size();
    last.assign(t.name());
    if (query.matches(t)) targets.push_back(last);
    return true;
  }, &finished);
  if (!st.is_ok()) {
    op.progress.status = OperationStatus::kFailed;
    op.progress.error = "reading the shadows failed: " + st.message();
    op.progress.finished_at = op.progress.updated_at = now;
    out_.log(runtime::LogLevel::kError, "fleet update '" + op.spec.id + "' failed: " + op.progress.error);
    (void)persist(op);
    return false;
  }

  const auto started = std::chrono::steady_clock::now();
  bool cut = false;
  for (const std::string& target : targets) {
    if (std::chrono::steady_clock::now() - started > kMaxChunkTime) {
      // Out of time: the rest of the chunk waits for the next pass.
      cut = true;
      break;
    }
    // The progress as it will be once this update is written, stored in the
    // same write: a restart resumes exactly after the last updated thing.
    Progress after = op.progress;
    ++after.matched;
    ++after.updated;
    after.last_thing = target;
    after.updated_at = now;
    std::vector<ItemChange> progress{{std::string(kSpace), key_of(op.spec.id), record(op.spec, after)}};

    ServiceRequest request;
    request.channel = Channel::kRest;
    request.op = shadow::Operation::kUpdate;
    request.id = ShadowId{target, op.spec.shadow};
    request.payload = op.payload;
    request.now = now;
    request.identity = op.spec.id;
    request.origin = "fleet";
    request.also_write = &progress;
    ServiceResponse response = pipeline_.service_request(request, out_);

    ++op.progress.matched;
    op.progress.last_thing = target;
    if (response.ok()) {
      ++op.progress.updated;
    } else {
      ++op.progress.failed;
      if (op.progress.failure_thing.empty()) {
        op.progress.failure_thing = target;
        op.progress.failure_code = response.status;
        op.progress.failure_message = message_of(response.body);
      }
    }
  }
  if (cut) finished = false;
  else if (!last.empty()) op.progress.last_thing = last;
  op.progress.updated_at = now;
  if (finished) {
    op.progress.status = OperationStatus::kCompleted;
    op.progress.finished_at = now;
    out_.log(runtime::LogLevel::kInfo, "fleet update '" + op.spec.id + "' completed: " +
                                           std::to_string(op.progress.matched) + " matched, " +
                                           std::to_string(op.progress.updated) + " updated, " +
                                           std::to_string(op.progress.failed) + " failed");
  }
  st = persist(op);
  if (!st.is_ok())
    out_.log(runtime::LogLevel::kWarning, "fleet update '" + op.spec.id + "': cannot store its progress: " + st.message());
  return !finished;
}

}  // namespace shadow::fleet
