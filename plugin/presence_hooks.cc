#include "plugin/presence_hooks.h"

#include <ctime>
#include <utility>

// Order matters: mosquitto_broker.h uses MOSQ_* from mosquitto.h, and
// mosquitto_plugin.h needs mosquitto_plugin_id_t from mosquitto_broker.h.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>  // MOSQ_ACL_*

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "plugin/client_identity.h"
#include "shadow_core/names.h"

namespace shadow::plugin {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// {"state":{"reported":{"<field>":<connected>}}}
std::string presence_update(const std::string& field, bool connected) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("state");
  w.StartObject();
  w.Key("reported");
  w.StartObject();
  w.Key(field.data(), static_cast<rapidjson::SizeType>(field.size()));
  w.Bool(connected);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

PresenceHooks::PresenceHooks(const PluginConfig& config, Store& store, runtime::Pipeline& pipeline,
                             runtime::BrokerOutput& out, runtime::Wakeup* wakeup)
    : config_(config), pipeline_(pipeline), out_(out), wakeup_(wakeup) {
  if (config.presence.tracks_connections()) {
    presence::TrackerOptions options;
    options.lifecycle_events = config.presence.lifecycle_events;
    tracker_.emplace(store, options);
  }
}

Status PresenceHooks::start() {
  if (!tracker_) return Status::ok();
  return tracker_->recover(now_ms()).with_context("cannot read the presence records");
}

presence::ClientFacts PresenceHooks::facts_of(mosquitto* client) const {
  presence::ClientFacts facts;
  if (const char* id = mosquitto_client_id(client)) facts.client_id = id;
  if (const char* address = mosquitto_client_address(client)) facts.ip_address = address;
  if (std::optional<std::string> fingerprint = certificate_sha256(client)) {
    facts.principal_id = std::move(*fingerprint);
  } else if (const char* user = mosquitto_client_username(client)) {
    facts.principal_id = std::string(strip_sdk_metrics(user));
  }
  if (config_.authz.binding()) {
    Principal principal = principal_of(client, config_.authz);
    if (!principal.admin) facts.thing = principal.thing;
  } else if (!facts.client_id.empty() && !validate_thing_name(facts.client_id, config_.engine)) {
    facts.thing = facts.client_id;
  }
  return facts;
}

int PresenceHooks::on_basic_auth(int /*event*/, void* event_data) {
  auto* ev = static_cast<mosquitto_evt_basic_auth*>(event_data);
  if (tracker_ && ev->client != nullptr) {
    tracker_->connecting(ev->client, facts_of(ev->client), now_ms());
    if (ev->username != nullptr) with_username_.insert(ev->client);
  }
  return MOSQ_ERR_PLUGIN_DEFER;
}

int PresenceHooks::on_disconnect(int /*event*/, void* event_data) {
  auto* ev = static_cast<mosquitto_evt_disconnect*>(event_data);
  if (!tracker_ || ev->client == nullptr) return MOSQ_ERR_SUCCESS;
  const bool had_client_id = mosquitto_client_id(ev->client) != nullptr;
  if (!had_client_id && with_username_.count(ev->client) > 0 && !warned_refused_username_) {
    warned_refused_username_ = true;
    log(runtime::LogLevel::kWarning,
        "presence: a client that sent a username was refused at CONNECT. If the broker has no "
        "password_file or authentication plugin, that is Mosquitto's rule once a plugin takes part "
        "in the username check (allow_anonymous admits only clients without a username): add a "
        "password_file, or set plugin_opt_connect_detection activity (this is logged once)");
  }
  tracker_->disconnected(ev->client, had_client_id, now_ms());
  return MOSQ_ERR_SUCCESS;
}

void PresenceHooks::observe(const mosquitto_evt_acl_check& event, int answer) {
  mosquitto* client = event.client;
  const int mosq_access = event.access;
  const char* topic = event.topic;
  if (client == nullptr) return;
  if (tracker_) {
    if (mosq_access == MOSQ_ACL_WRITE && tracker_->ended_in_this_pass(client)) {
      // The Will of a connection that has just ended, not a publish.
      tracker_->will_published(client);
      return;
    }
    tracker_->active(client, [&] { return facts_of(client); }, now_ms());
    if (answer != MOSQ_ERR_ACL_DENIED) {
      if (mosq_access == MOSQ_ACL_SUBSCRIBE) tracker_->subscribed(client, topic);
      if (mosq_access == MOSQ_ACL_UNSUBSCRIBE) tracker_->unsubscribed(client, topic);
    }
  }
  // The catch-up is sent only to a subscription the plugin itself granted:
  // it is delivered to the client directly, past the broker's ACLs.
  if (config_.presence.delta_on_subscribe && mosq_access == MOSQ_ACL_SUBSCRIBE && answer == MOSQ_ERR_SUCCESS) {
    if (std::optional<ShadowId> id = presence::delta_subscription(topic, config_.engine)) {
      const char* client_id = mosquitto_client_id(client);
      if (client_id != nullptr) catch_ups_.push_back(CatchUp{client_id, std::move(*id), topic});
    }
  }
}

int PresenceHooks::on_tick(int /*event*/, void* /*event_data*/) {
  with_username_.clear();
  if (tracker_) {
    presence::TickResult result = tracker_->tick(now_ms());
    for (const std::string& error : result.errors) log(runtime::LogLevel::kError, "presence: " + error);
    for (const OutMessage& event : result.events) out_.publish(event);
    if (!config_.presence.field.empty()) {
      for (const presence::ThingChange& change : result.things) queue_presence_field(change);
    }
  }
  write_presence_fields();
  // Sent now, they reach the client on the broker's next loop pass, after
  // the SUBACK this pass queued.
  std::vector<CatchUp> catch_ups;
  catch_ups.swap(catch_ups_);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const CatchUp& c : catch_ups) pipeline_.send_current_delta(c.id, c.topic, c.client_id, now, out_);
  return MOSQ_ERR_SUCCESS;
}

void PresenceHooks::queue_presence_field(const presence::ThingChange& change) {
  auto [it, inserted] = write_pending_.try_emplace(change.thing, change);
  if (inserted) {
    write_order_.push_back(change.thing);
  } else {
    it->second = change;  // the latest state wins
  }
}

void PresenceHooks::write_presence_fields() {
  const auto started = std::chrono::steady_clock::now();
  size_t written = 0;
  while (!write_order_.empty()) {
    if (written > 0 && std::chrono::steady_clock::now() - started >= kWriteBudget) break;
    auto it = write_pending_.find(write_order_.front());
    write_order_.pop_front();
    presence::ThingChange change = std::move(it->second);
    write_pending_.erase(it);
    auto last = written_.find(change.thing);
    if (last != written_.end() && last->second == change.connected) continue;  // flapped back meanwhile
    write_presence_field(change);
    written_[change.thing] = change.connected;
    written++;
  }
  if (!write_order_.empty() && wakeup_ != nullptr) wakeup_->request();
}

void PresenceHooks::write_presence_field(const presence::ThingChange& change) {
  std::string payload = presence_update(config_.presence.field, change.connected);
  ServiceRequest request;
  request.channel = Channel::kService;
  request.op = Operation::kUpdate;
  request.id.thing = change.thing;
  request.payload = payload;
  request.now = change.timestamp_ms / 1000;
  request.origin = "presence";  // in the shadow history
  ServiceResponse response = pipeline_.service_request(request, out_);
  if (!response.ok()) {
    log(runtime::LogLevel::kWarning, "presence: the write of reported." + config_.presence.field + " to '" +
                                         change.thing + "' was refused with " + std::to_string(response.status) +
                                         ": " + response.body);
  }
}

void PresenceHooks::log(runtime::LogLevel level, const std::string& line) {
  uint64_t suppressed = 0;
  if (!log_budget_.allow(std::chrono::steady_clock::now(), &suppressed)) return;
  if (suppressed > 0) {
    out_.log(runtime::LogLevel::kWarning, "presence: " + std::to_string(suppressed) + " more lines were not logged");
  }
  out_.log(level, line);
}

}  // namespace shadow::plugin
