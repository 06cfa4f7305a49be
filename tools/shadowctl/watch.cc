// watch: an MQTT subscriber for one shadow's response and event topics that
// prints each message as it arrives. libmosquitto is driven from this thread
// (mosquitto_loop) so Ctrl-C, --count and --timeout are checked between
// short waits.
#include <mosquitto.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <iostream>
#include <vector>

#include "tools/shadowctl/commands.h"
#include "tools/shadowctl/exit_codes.h"

namespace shadowctl {

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// The sub-topics printed, relative to the shadow's prefix.
const char* const kWatched[] = {"update/delta",    "update/documents", "update/accepted",
                                "update/rejected", "delete/accepted",  "delete/rejected"};

struct WatchState {
  const Context* ctx = nullptr;
  std::string prefix;
  int subscribe_mid = -1;
  bool ready = false;
  int connect_rc = -1;  // CONNACK code; -1 while waiting
  long events = 0;
};

std::string now_text(bool iso_utc) {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  char buf[64];
  if (iso_utc) {
    gmtime_r(&secs, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  } else {
    localtime_r(&secs, &tm);
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  }
  char out[80];
  std::snprintf(out, sizeof out, iso_utc ? "%s.%03dZ" : "%s.%03d", buf, ms);
  return out;
}

const char* event_color(const std::string& event) {
  if (event.find("rejected") != std::string::npos) return "1;31";
  if (event == "update/delta") return "1;33";
  if (event == "update/documents") return "1;36";
  return "1;32";
}

void print_event(WatchState& st, const mosquitto_message* msg) {
  const Output& out = st.ctx->out;
  std::string topic = msg->topic;
  std::string event = topic.size() > st.prefix.size() + 1 ? topic.substr(st.prefix.size() + 1) : topic;
  std::string text(static_cast<const char*>(msg->payload), msg->payloadlen);
  rapidjson::Document payload;
  payload.Parse(text.c_str(), text.size());
  bool is_json = !payload.HasParseError();

  if (out.json()) {
    rapidjson::Document line(rapidjson::kObjectType);
    auto& a = line.GetAllocator();
    line.AddMember("time", rapidjson::Value(now_text(true).c_str(), a), a);
    line.AddMember("topic", rapidjson::Value(topic.c_str(), a), a);
    line.AddMember("event", rapidjson::Value(event.c_str(), a), a);
    if (is_json) {
      line.AddMember("payload", rapidjson::Value(payload, a), a);
    } else {
      line.AddMember("payload", rapidjson::Value(text.c_str(), a), a);
    }
    out.document(line);
    return;
  }
  std::string title = out.style(now_text(false), "2") + "  " + out.style(event, event_color(event));
  if (is_json && payload.IsObject()) {
    auto v = payload.FindMember("version");
    if (v == payload.MemberEnd() && payload.HasMember("current") && payload["current"].IsObject()) {
      v = payload["current"].FindMember("version");  // update/documents
    }
    if (v != payload.MemberEnd() && v->value.IsInt64()) {
      title += "  version " + std::to_string(v->value.GetInt64());
    }
  }
  out.line(title);
  if (is_json) {
    out.document(payload);
  } else {
    out.line(text);
  }
}

void on_connect(mosquitto* mosq, void* user, int rc) {
  auto* st = static_cast<WatchState*>(user);
  st->connect_rc = rc;
  if (rc != 0) return;
  std::vector<std::string> topics;
  for (const char* sub : kWatched) topics.push_back(st->prefix + "/" + sub);
  std::vector<char*> ptrs;
  for (auto& t : topics) ptrs.push_back(t.data());
  mosquitto_subscribe_multiple(mosq, &st->subscribe_mid, static_cast<int>(ptrs.size()), ptrs.data(),
                               1, 0, nullptr);
}

void on_subscribe(mosquitto*, void* user, int mid, int, const int*) {
  auto* st = static_cast<WatchState*>(user);
  if (mid != st->subscribe_mid || st->ready) return;
  st->ready = true;
  // Tests wait for this line before they cause events: it is printed only
  // once the broker has confirmed the subscriptions.
  std::cerr << "shadowctl: watching " << st->prefix << "/{update,delete}/... ("
            << (st->ctx->args().count > 0 ? "until " + std::to_string(st->ctx->args().count) +
                                                " events or Ctrl-C"
                                          : "Ctrl-C to stop")
            << ")" << std::endl;
}

void on_message(mosquitto*, void* user, const mosquitto_message* msg) {
  auto* st = static_cast<WatchState*>(user);
  const CommandArgs& a = st->ctx->args();
  if (a.count > 0 && st->events >= a.count) return;
  print_event(*st, msg);
  ++st->events;
}

struct MosquittoLib {
  MosquittoLib() { mosquitto_lib_init(); }
  ~MosquittoLib() { mosquitto_lib_cleanup(); }
};

struct MosquittoHandle {
  mosquitto* m;
  ~MosquittoHandle() {
    if (m) mosquitto_destroy(m);
  }
};

int connection_failed(const Context& ctx, const std::string& why) {
  const CommandArgs& a = ctx.args();
  ctx.out.error("cannot watch over MQTT at " + a.mqtt_host + ":" + std::to_string(a.mqtt_port) +
                ": " + why);
  ctx.out.hint("is mosquitto running with the shadow plugin there? Set --mqtt-host and "
               "--mqtt-port (scripts/run-broker.sh listens on 127.0.0.1:1883 by default)");
  return kExitConnection;
}

}  // namespace

int cmd_watch(Context& ctx) {
  const CommandArgs& a = ctx.args();
  WatchState st;
  st.ctx = &ctx;
  st.prefix = "$aws/things/" + a.thing + "/shadow" + (a.shadow ? "/name/" + *a.shadow : "");

  MosquittoLib lib;
  std::string client_id = "shadowctl-watch-" + std::to_string(getpid());
  MosquittoHandle h{mosquitto_new(client_id.c_str(), true, &st)};
  if (!h.m) return connection_failed(ctx, "out of memory");
  mosquitto_connect_callback_set(h.m, on_connect);
  mosquitto_subscribe_callback_set(h.m, on_subscribe);
  mosquitto_message_callback_set(h.m, on_message);
  if (!a.mqtt_username.empty()) {
    mosquitto_username_pw_set(h.m, a.mqtt_username.c_str(),
                              a.mqtt_password.empty() ? nullptr : a.mqtt_password.c_str());
  }
  if (!a.mqtt_cafile.empty() || !a.mqtt_cert.empty()) {
    int rc = mosquitto_tls_set(h.m, a.mqtt_cafile.empty() ? nullptr : a.mqtt_cafile.c_str(),
                               nullptr, a.mqtt_cert.empty() ? nullptr : a.mqtt_cert.c_str(),
                               a.mqtt_key.empty() ? nullptr : a.mqtt_key.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      ctx.out.error(std::string("TLS settings rejected: ") + mosquitto_strerror(rc));
      ctx.out.hint("--mqtt-cafile is required for TLS; --mqtt-cert and --mqtt-key go together");
      return kExitUsage;
    }
  }

  int rc = mosquitto_connect(h.m, a.mqtt_host.c_str(), a.mqtt_port, 30);
  if (rc != MOSQ_ERR_SUCCESS) {
    return connection_failed(ctx, rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc));
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  using Clock = std::chrono::steady_clock;
  const auto deadline =
      a.timeout > 0 ? Clock::now() + std::chrono::milliseconds(static_cast<long>(a.timeout * 1000))
                    : Clock::time_point::max();
  while (!g_stop) {
    if (a.count > 0 && st.events >= a.count) break;
    if (Clock::now() >= deadline) break;
    rc = mosquitto_loop(h.m, 100, 1);
    if (st.connect_rc > 0) {
      return connection_failed(ctx, std::string("the broker refused the connection: ") +
                                        mosquitto_connack_string(st.connect_rc));
    }
    if (rc != MOSQ_ERR_SUCCESS && !g_stop) {
      if (rc == MOSQ_ERR_ERRNO && errno == EINTR) continue;
      return connection_failed(ctx, std::string("connection lost: ") +
                                        (rc == MOSQ_ERR_ERRNO ? std::strerror(errno)
                                                              : mosquitto_strerror(rc)));
    }
  }
  mosquitto_disconnect(h.m);
  if (a.count > 0 && st.events < a.count && !g_stop) {
    ctx.out.error("--timeout expired after " + std::to_string(st.events) + " of " +
                  std::to_string(a.count) + " events");
    return kExitTimeout;
  }
  return kExitOk;
}

}  // namespace shadowctl
