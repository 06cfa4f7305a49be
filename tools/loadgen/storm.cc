#include "tools/loadgen/storm.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <time.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace loadgen {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CONNECT, MQTT 3.1.1, clean session, keep-alive 60 s, no username.
std::string connect_packet(const std::string& client_id) {
  std::string body;
  body += std::string("\x00\x04MQTT\x04\x02\x00\x3c", 10);
  body += static_cast<char>(client_id.size() >> 8);
  body += static_cast<char>(client_id.size() & 0xFF);
  body += client_id;
  std::string packet(1, '\x10');
  size_t n = body.size();
  do {  // remaining length, variable-length encoded
    unsigned char byte = n % 128;
    n /= 128;
    if (n > 0) byte |= 0x80;
    packet += static_cast<char>(byte);
  } while (n > 0);
  return packet + body;
}

// SUBSCRIBE (packet id 1, QoS 1) to the client's own update/delta topic,
// what a device does right after connecting.
std::string subscribe_packet(const std::string& client_id) {
  std::string topic = "$aws/things/" + client_id + "/shadow/update/delta";
  std::string body("\x00\x01", 2);
  body += static_cast<char>(topic.size() >> 8);
  body += static_cast<char>(topic.size() & 0xFF);
  body += topic;
  body += '\x01';
  std::string packet(1, '\x82');
  packet += static_cast<char>(body.size());  // < 128 for client ids up to ~90 bytes
  return packet + body;
}

struct Slot {
  enum State { kIdle, kConnecting, kAwaitConnack, kHolding } state = kIdle;
  int fd = -1;
  int64_t next_ms = 0;  // kIdle: when to connect; kHolding: when to drop
  std::string connect;
  std::string subscribe;
  std::string received;
};

void close_slot(Slot& s, int64_t next_ms) {
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.state = Slot::kIdle;
  s.next_ms = next_ms;
  s.received.clear();
}

}  // namespace

void ConnectionStorm::start(const StormConfig& config) {
  stop();
  quit_ = false;
  thread_ = std::thread(&ConnectionStorm::run, this, config);
}

void ConnectionStorm::stop() {
  quit_ = true;
  if (thread_.joinable()) thread_.join();
}

void ConnectionStorm::run(StormConfig config) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(config.port));
  if (::inet_pton(AF_INET, config.host.c_str(), &addr.sin_addr) != 1) {
    failures_ += 1;
    return;
  }
  std::vector<Slot> slots(static_cast<size_t>(config.clients));
  const int64_t start = now_ms();
  for (size_t i = 0; i < slots.size(); i++) {
    std::string id = config.client_prefix + "-" + std::to_string(i);
    slots[i].connect = connect_packet(id);
    slots[i].subscribe = subscribe_packet(id);
    // Spread the first connects over the hold time, so the storm starts smoothly.
    slots[i].next_ms = start + static_cast<int64_t>(i) * std::max(config.hold_ms, 1) / config.clients;
  }
  std::vector<pollfd> fds;
  std::vector<size_t> owner;
  while (!quit_.load(std::memory_order_relaxed)) {
    const int64_t now = now_ms();
    int64_t wake = now + 20;
    fds.clear();
    owner.clear();
    for (size_t i = 0; i < slots.size(); i++) {
      Slot& s = slots[i];
      if (s.state == Slot::kHolding && now >= s.next_ms) close_slot(s, now);  // the drop
      if (s.state == Slot::kIdle && now >= s.next_ms) {
        s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int one = 1;
        ::setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int rc = s.fd < 0 ? -1 : ::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        if (rc == 0 || errno == EINPROGRESS) {
          s.state = Slot::kConnecting;
        } else {
          failures_ += 1;
          close_slot(s, now + 100);
        }
      }
      if (s.state == Slot::kIdle || s.state == Slot::kHolding) {
        wake = std::min(wake, s.next_ms);
        continue;
      }
      fds.push_back({s.fd, static_cast<short>(s.state == Slot::kConnecting ? POLLOUT : POLLIN), 0});
      owner.push_back(i);
    }
    int timeout = static_cast<int>(std::max<int64_t>(0, wake - now_ms()));
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n <= 0) continue;
    for (size_t k = 0; k < fds.size(); k++) {
      if (fds[k].revents == 0) continue;
      Slot& s = slots[owner[k]];
      if (s.state == Slot::kConnecting) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || ::send(s.fd, s.connect.data(), s.connect.size(), MSG_NOSIGNAL) !=
                            static_cast<ssize_t>(s.connect.size())) {
          failures_ += 1;
          close_slot(s, now_ms() + 100);
          continue;
        }
        s.state = Slot::kAwaitConnack;
      } else {
        char buf[16];
        ssize_t got = ::recv(s.fd, buf, sizeof buf, 0);
        if (got <= 0) {
          failures_ += 1;
          close_slot(s, now_ms() + 100);
          continue;
        }
        s.received.append(buf, static_cast<size_t>(got));
        if (s.received.size() < 4) continue;
        if (s.received[0] != '\x20' || s.received[3] != '\x00') {
          failures_ += 1;
          close_slot(s, now_ms() + 100);
          continue;
        }
        connects_ += 1;
        // Best effort: the SUBACK is not awaited, the drop comes after the hold.
        (void)::send(s.fd, s.subscribe.data(), s.subscribe.size(), MSG_NOSIGNAL);
        s.state = Slot::kHolding;
        s.next_ms = now_ms() + config.hold_ms;
      }
    }
  }
  for (Slot& s : slots) close_slot(s, 0);
  timespec cpu{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  cpu_s_ = static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
}

}  // namespace loadgen
