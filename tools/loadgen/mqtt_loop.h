// Many libmosquitto clients driven by one thread: poll() over their sockets
// instead of one libmosquitto thread per client, so the load generator spends
// its CPU on traffic rather than on context switches (it shares the machine
// with the broker it measures).
#pragma once

#include <mosquitto.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace loadgen {

using Clock = std::chrono::steady_clock;

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// One MQTT 3.1.1 connection. Subclasses get libmosquitto's callbacks, which
// always run on the thread of the EventLoop that owns the client.
class Client {
 public:
  Client();
  virtual ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Blocking TCP connect and CONNECT (CONNACK arrives later through the loop).
  // Returns "" or a message that names host:port.
  std::string connect(const std::string& client_id, const std::string& host, int port);
  void disconnect();

  mosquitto* handle() { return mosq_; }
  bool alive() const { return alive_; }
  const std::string& failure() const { return failure_; }

  virtual void on_connect(int rc) = 0;
  virtual void on_subscribe(int mid) = 0;
  virtual void on_message(const mosquitto_message& msg) = 0;
  virtual void on_disconnect(int rc);

 protected:
  void fail(const std::string& why);
  // Subscribes to all `topics` at `qos` in one SUBSCRIBE; "" or an error.
  std::string subscribe(const std::vector<std::string>& topics, int qos, int* mid);

 private:
  mosquitto* mosq_ = nullptr;
  bool alive_ = false;
  bool disconnecting_ = false;
  std::string failure_;
};

// Runs `clients` until `step` returns false. `step` is called before every
// poll with the current time; it may publish and returns (through *wake_ns)
// the time it next wants to run, or 0 for "soon" (1 ms).
class EventLoop {
 public:
  using Step = std::function<bool(int64_t now_ns, int64_t* wake_ns)>;
  explicit EventLoop(std::vector<Client*> clients) : clients_(std::move(clients)) {}
  void run(const Step& step);

 private:
  void service(Client* c, short revents);
  std::vector<Client*> clients_;
};

}  // namespace loadgen
