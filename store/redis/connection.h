// One connection to one Redis node: a TCP socket, optionally TLS, speaking
// RESP2. Every step (connect, TLS handshake, write, read) is bounded by a
// deadline, so a dead or stalled node costs at most the configured timeout.
//
// Why our own socket: Debian 12's hiredis (0.14) has neither TLS (that came
// with hiredis 1.0) nor per-command deadlines on one blocking context. We
// keep hiredis for what it does well, encoding commands
// (redisFormatCommandArgv) and parsing replies (redisReader), and do the
// socket I/O here. TLS runs through memory BIOs, so every byte still goes
// through our send()/recv() with MSG_NOSIGNAL: no SIGPIPE in the broker.
//
// Not thread-safe: one thread uses a connection at a time (the cluster
// client hands them out from a pool).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/redis/cluster_routing.h"
#include "store/redis/reply.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct redisReader redisReader;

namespace shadow::redis {

using Clock = std::chrono::steady_clock;

struct TlsOptions {
  bool enabled = false;
  std::string ca_file;    // CA certificate(s) that signed the nodes' certificates (PEM); required
  std::string cert_file;  // client certificate (PEM): Redis asks for one unless tls-auth-clients no
  std::string key_file;   // its private key (PEM)
  // The name every node's certificate must carry. Empty: the address we
  // connect to (an IP address must then be in the certificate's SANs).
  std::string server_name;
};

// An OpenSSL client context built once from TlsOptions and shared by every
// connection.
class TlsContext {
 public:
  // Errors name the file that could not be used and why.
  static StatusOr<std::shared_ptr<TlsContext>> create(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  const std::string& server_name() const { return server_name_; }

 private:
  TlsContext(SSL_CTX* ctx, std::string server_name) : ctx_(ctx), server_name_(std::move(server_name)) {}
  SSL_CTX* ctx_;
  std::string server_name_;
};

struct ConnectionOptions {
  std::string username;  // Redis ACL user; empty: AUTH with the password only (the "default" user)
  std::string password;  // empty: no AUTH
  std::shared_ptr<TlsContext> tls;  // null: plain TCP
  std::chrono::milliseconds connect_timeout{1000};  // TCP connect + TLS handshake + AUTH
  std::chrono::milliseconds command_timeout{2000};  // one write+read round trip
};

class Connection {
 public:
  // Connects, runs the TLS handshake and AUTH. The deadline caps the
  // connect timeout. Errors say which node and what failed (refused, timed
  // out, certificate not trusted, wrong password).
  static StatusOr<std::unique_ptr<Connection>> open(const NodeAddress& node, const ConnectionOptions& options,
                                                    Clock::time_point deadline);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `commands` in one write and reads one reply per command (error
  // replies included: they are answers, not failures). Bounded by the
  // command timeout and by `deadline`, whichever comes first.
  // A non-OK status means the connection is broken and must be dropped;
  // *maybe_executed then tells whether any command may have reached the
  // server (and run there): false only if nothing was written at all.
  Status run(const std::vector<Command>& commands, std::vector<Reply>* replies, Clock::time_point deadline,
             bool* maybe_executed);

  // Lower-level halves of run(), for pub/sub: send without waiting, and read
  // the next reply or pushed message (kUnavailable "timed out" when nothing
  // arrived by `deadline`; the connection stays usable then).
  Status send(const std::vector<Command>& commands, Clock::time_point deadline);
  Status read(Reply* reply, Clock::time_point deadline);

  // For a subscriber that waits on several connections with poll(): the
  // socket, and everything that has arrived on it without blocking, as
  // complete replies appended to *replies (none when nothing complete is
  // there yet). A non-OK status means the connection is broken (closed by
  // the node, protocol error); replies read before the failure are kept.
  int fd() const { return fd_; }
  Status read_available(std::vector<Reply>* replies);

  // Cheap check before reusing an idle connection: true when the peer has
  // closed it (a restarted or killed node) or it is otherwise unusable.
  bool looks_closed();

  const NodeAddress& node() const { return node_; }
  bool broken() const { return broken_; }

 private:
  Connection(NodeAddress node, ConnectionOptions options);
  Status connect_socket(Clock::time_point deadline);
  Status tls_handshake(Clock::time_point deadline);
  Status write_raw(const char* data, size_t size, Clock::time_point deadline, bool* wrote_any);
  Status write_commands(const std::vector<Command>& commands, Clock::time_point deadline, bool* wrote_any);
  Status flush_tls(Clock::time_point deadline, bool* wrote_any);
  Status fill(Clock::time_point deadline);  // reads more bytes into the reader
  Status wait_fd(short events, Clock::time_point deadline, const char* what);
  void set_low_water(int bytes);  // SO_RCVLOWAT; best effort
  Status fail(Status s);
  std::string where() const { return "Redis node " + node_.to_string(); }

  NodeAddress node_;
  ConnectionOptions options_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  redisReader* reader_ = nullptr;
  bool broken_ = false;
  bool timed_out_ = false;     // the last wait_fd() hit its deadline
  bool received_any_ = false;  // a byte has come from the node
  int low_water_ = 1;          // the socket's SO_RCVLOWAT
};

}  // namespace shadow::redis
