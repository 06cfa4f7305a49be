#include "tools/loadgen/mqtt_loop.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

namespace loadgen {
namespace {

Client* self(void* userdata) { return static_cast<Client*>(userdata); }

}  // namespace

Client::Client() = default;

Client::~Client() {
  if (mosq_) mosquitto_destroy(mosq_);
}

std::string Client::connect(const std::string& client_id, const std::string& host, int port) {
  mosq_ = mosquitto_new(client_id.c_str(), true, this);
  if (!mosq_) return "cannot create a libmosquitto client (out of memory?)";
  mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* u, int rc) { self(u)->on_connect(rc); });
  mosquitto_subscribe_callback_set(
      mosq_, [](mosquitto*, void* u, int mid, int, const int*) { self(u)->on_subscribe(mid); });
  mosquitto_message_callback_set(mosq_, [](mosquitto*, void* u, const mosquitto_message* m) {
    self(u)->on_message(*m);
  });
  mosquitto_disconnect_callback_set(mosq_,
                                    [](mosquitto*, void* u, int rc) { self(u)->on_disconnect(rc); });
  // No client-side cap on QoS 1 messages in flight: the load generator keeps
  // its own window, and libmosquitto's default of 20 would hide a larger one.
  mosquitto_max_inflight_messages_set(mosq_, 0);
  // The broker we start uses set_tcp_nodelay too; without it, Nagle would
  // hold back small requests and dominate the latency figures.
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  int rc = mosquitto_connect(mosq_, host.c_str(), port, 60);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::string why = rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc);
    return "cannot connect to " + host + ":" + std::to_string(port) + ": " + why;
  }
  alive_ = true;
  return "";
}

void Client::disconnect() {
  if (!alive_) return;
  disconnecting_ = true;
  mosquitto_disconnect(mosq_);
  alive_ = false;
}

void Client::on_disconnect(int rc) {
  if (!disconnecting_ && rc != 0) fail(std::string("connection lost: ") + mosquitto_strerror(rc));
  alive_ = false;
}

void Client::fail(const std::string& why) {
  if (failure_.empty()) failure_ = why;
  alive_ = false;
}

std::string Client::subscribe(const std::vector<std::string>& topics, int qos, int* mid) {
  std::vector<char*> ptrs;
  ptrs.reserve(topics.size());
  for (const auto& t : topics) ptrs.push_back(const_cast<char*>(t.c_str()));
  int rc = mosquitto_subscribe_multiple(mosq_, mid, static_cast<int>(ptrs.size()), ptrs.data(), qos,
                                        0, nullptr);
  return rc == MOSQ_ERR_SUCCESS ? "" : std::string("subscribe failed: ") + mosquitto_strerror(rc);
}

void EventLoop::service(Client* c, short revents) {
  mosquitto* m = c->handle();
  if (revents & (POLLIN | POLLERR | POLLHUP)) {
    // mosquitto_loop_read stops after one packet when no QoS>0 message is
    // pending, so read until the socket would block (bounded).
    for (int i = 0; i < 256 && c->alive(); ++i) {
      errno = 0;
      int rc = mosquitto_loop_read(m, 1);
      if (rc != MOSQ_ERR_SUCCESS) {
        if (c->alive()) c->on_disconnect(rc);
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    }
  }
}

void EventLoop::run(const Step& step) {
  std::vector<pollfd> fds;
  std::vector<Client*> polled;
  int64_t last_misc = now_ns();
  for (;;) {
    int64_t now = now_ns();
    int64_t wake = 0;
    if (!step(now, &wake)) return;
    // Requests published by callbacks are only queued; send them now rather
    // than after another poll round.
    fds.clear();
    polled.clear();
    for (Client* c : clients_) {
      if (!c->alive()) continue;
      mosquitto* m = c->handle();
      if (mosquitto_want_write(m)) {
        int rc = mosquitto_loop_write(m, 1);
        if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) c->on_disconnect(rc);
      }
      int fd = mosquitto_socket(m);
      if (fd < 0 || !c->alive()) continue;
      short events = POLLIN;
      if (mosquitto_want_write(m)) events |= POLLOUT;
      fds.push_back({fd, events, 0});
      polled.push_back(c);
    }
    int64_t timeout_ns = wake > now ? wake - now : 1'000'000;
    if (timeout_ns > 100'000'000) timeout_ns = 100'000'000;
    timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000), static_cast<long>(timeout_ns % 1'000'000'000)};
    int n = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
    if (n < 0 && errno != EINTR) return;
    for (size_t i = 0; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].revents & POLLOUT) {
        int rc = mosquitto_loop_write(polled[i]->handle(), 1);
        if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) polled[i]->on_disconnect(rc);
      }
      service(polled[i], fds[i].revents);
    }
    now = now_ns();
    if (now - last_misc > 1'000'000'000) {  // keep-alive pings
      for (Client* c : clients_)
        if (c->alive()) mosquitto_loop_misc(c->handle());
      last_misc = now;
    }
  }
}

}  // namespace loadgen
