#include "store/redis/connection.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace shadow::redis {

namespace {

std::string openssl_errors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Reply convert(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING: return Reply::string(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS: return Reply::status(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR: return Reply::error(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER: return Reply::integer_of(r->integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> e;
      e.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) e.push_back(convert(r->element[i]));
      return Reply::array(std::move(e));
    }
    default: return Reply::nil();
  }
}

std::string encode(const std::vector<Command>& commands) {
  std::string out;
  for (const Command& c : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : c) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    char* cmd = nullptr;
    int n = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), argv.data(), lens.data());
    if (n > 0 && cmd) out.append(cmd, static_cast<size_t>(n));
    redisFreeCommand(cmd);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// TlsContext

StatusOr<std::shared_ptr<TlsContext>> TlsContext::create(const TlsOptions& options) {
  if (options.ca_file.empty())
    return Status::invalid_argument("Redis TLS needs a CA file to verify the nodes (the tls CA option is empty)");
  if (options.cert_file.empty() != options.key_file.empty())
    return Status::invalid_argument("Redis TLS: give both a client certificate and its key, or neither");
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return Status::internal("cannot create an OpenSSL context: " + openssl_errors());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx, options.server_name));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  ERR_clear_error();
  if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1)
    return Status::invalid_argument("cannot load the Redis TLS CA file " + options.ca_file + ": " + openssl_errors());
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1)
      return Status::invalid_argument("cannot load the Redis TLS client certificate " + options.cert_file + ": " +
                                      openssl_errors());
    if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return Status::invalid_argument("cannot load the Redis TLS client key " + options.key_file + ": " +
                                      openssl_errors());
    if (SSL_CTX_check_private_key(ctx) != 1)
      return Status::invalid_argument("the Redis TLS client key " + options.key_file + " does not match " +
                                      options.cert_file);
  }
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

// ---------------------------------------------------------------------------
// Connection

Connection::Connection(NodeAddress node, ConnectionOptions options)
    : node_(std::move(node)), options_(std::move(options)) {}

Connection::~Connection() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) close(fd_);
  if (reader_) redisReaderFree(reader_);
}

StatusOr<std::unique_ptr<Connection>> Connection::open(const NodeAddress& node, const ConnectionOptions& options,
                                                       Clock::time_point deadline) {
  deadline = std::min(deadline, Clock::now() + options.connect_timeout);
  std::unique_ptr<Connection> c(new Connection(node, options));
  c->reader_ = redisReaderCreate();
  if (!c->reader_) return Status::internal("out of memory creating a Redis reply reader");
  Status s = c->connect_socket(deadline);
  if (s.is_ok() && options.tls) s = c->tls_handshake(deadline);
  if (!s.is_ok()) return s;
  if (!options.password.empty()) {
    Command auth{"AUTH"};
    if (!options.username.empty()) auth.push_back(options.username);
    auth.push_back(options.password);
    std::vector<Reply> replies;
    bool sent = false;
    s = c->run({auth}, &replies, deadline, &sent);
    if (!s.is_ok()) return s;
    if (replies[0].is_error()) {
      // The reply never echoes the password; "WRONGPASS ..." or "ERR AUTH <password> called without any
      // password configured" would, so keep only the code.
      return Status::unavailable(c->where() + " refused the credentials (" + std::string(replies[0].error_code()) +
                                 "): check the Redis password file" +
                                 (options.username.empty() ? "" : " and user name '" + options.username + "'"));
    }
  }
  return c;
}

Status Connection::fail(Status s) {
  broken_ = true;
  return s;
}

Status Connection::wait_fd(short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out_ = true;
      return Status::unavailable(where() + ": timed out " + what);
    }
    pollfd p{fd_, events, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    if (n > 0) return Status::ok();
    if (n < 0 && errno != EINTR) return Status::io_error(where() + ": poll: " + std::strerror(errno));
  }
}

Status Connection::connect_socket(Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(node_.port);
  int rc = getaddrinfo(node_.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status::unavailable(where() + ": cannot resolve host: " + gai_strerror(rc));
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    fd_ = fd;
    int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r < 0 && errno == EINPROGRESS) {
      Status w = wait_fd(POLLOUT, deadline, "connecting");
      int err = 0;
      socklen_t len = sizeof err;
      if (!w.is_ok()) {
        last_error = "connect timed out";
      } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        r = 0;
      } else {
        last_error = std::strerror(err);
      }
    } else if (r < 0) {
      last_error = std::strerror(errno);
    }
    if (r == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      freeaddrinfo(res);
      return Status::ok();
    }
    close(fd);
    fd_ = -1;
  }
  freeaddrinfo(res);
  return Status::unavailable(where() + ": cannot connect: " + last_error);
}

Status Connection::tls_handshake(Clock::time_point deadline) {
  ssl_ = SSL_new(options_.tls->ctx());
  if (!ssl_) return Status::internal("cannot create a TLS session: " + openssl_errors());
  SSL_set_bio(ssl_, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_connect_state(ssl_);
  const std::string& name = options_.tls->server_name().empty() ? node_.host : options_.tls->server_name();
  if (is_ip_literal(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
  } else {
    SSL_set1_host(ssl_, name.c_str());
    SSL_set_tlsext_host_name(ssl_, name.c_str());
  }
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    bool wrote = false;
    Status f = flush_tls(deadline, &wrote);
    if (!f.is_ok()) return f;
    if (r == 1) return Status::ok();
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) {
      Status w = wait_fd(POLLIN, deadline, "in the TLS handshake");
      if (!w.is_ok()) return w;
      char buf[16384];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return Status::unavailable(where() + ": closed the connection during the TLS handshake "
                                             "(is it a TLS port?)");
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return Status::unavailable(where() + ": TLS handshake: " + std::strerror(errno));
      }
      BIO_write(SSL_get_rbio(ssl_), buf, static_cast<int>(n));
      continue;
    }
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK)
      return Status::unavailable(where() + ": TLS certificate not accepted (" +
                                 X509_verify_cert_error_string(verify) + ", expected name '" + name +
                                 "'): check the TLS CA file and server name");
    return Status::unavailable(where() + ": TLS handshake failed: " + openssl_errors());
  }
}

Status Connection::write_raw(const char* data, size_t size, Clock::time_point deadline, bool* wrote_any) {
  while (size > 0) {
    ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      *wrote_any = true;
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      Status w = wait_fd(POLLOUT, deadline, "sending");
      if (!w.is_ok()) return w;
      continue;
    }
    return Status::unavailable(where() + ": send: " + std::strerror(errno));
  }
  return Status::ok();
}

Status Connection::flush_tls(Clock::time_point deadline, bool* wrote_any) {
  BIO* wbio = SSL_get_wbio(ssl_);
  char buf[16384];
  while (BIO_ctrl_pending(wbio) > 0) {
    int n = BIO_read(wbio, buf, sizeof buf);
    if (n <= 0) break;
    Status s = write_raw(buf, static_cast<size_t>(n), deadline, wrote_any);
    if (!s.is_ok()) return s;
  }
  return Status::ok();
}

Status Connection::send(const std::vector<Command>& commands, Clock::time_point deadline) {
  bool wrote = false;
  return write_commands(commands, deadline, &wrote);
}

Status Connection::write_commands(const std::vector<Command>& commands, Clock::time_point deadline,
                                  bool* wrote_any) {
  if (broken_) return Status::internal(where() + ": connection used after a failure");
  std::string bytes = encode(commands);
  Status s;
  if (!ssl_) {
    s = write_raw(bytes.data(), bytes.size(), deadline, wrote_any);
  } else {
    ERR_clear_error();
    if (SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) <= 0) {
      s = Status::io_error(where() + ": TLS write failed: " + openssl_errors());
    } else {
      s = flush_tls(deadline, wrote_any);
    }
  }
  return s.is_ok() ? s : fail(s);
}

Status Connection::fill(Clock::time_point deadline) {
  char buf[16384];
  for (;;) {
    if (ssl_) {
      ERR_clear_error();
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        redisReaderFeed(reader_, buf, static_cast<size_t>(n));
        return Status::ok();
      }
      int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_ZERO_RETURN) return Status::unavailable(where() + ": closed the TLS connection");
      if (e != SSL_ERROR_WANT_READ) return Status::unavailable(where() + ": TLS read failed: " + openssl_errors());
      bool wrote = false;
      Status f = flush_tls(deadline, &wrote);  // e.g. a TLS 1.3 key update answer
      if (!f.is_ok()) return f;
    }
    Status w = wait_fd(POLLIN, deadline, "waiting for a reply");
    if (!w.is_ok()) return w;
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    // A TLS-only node drops a plain connection at its first bytes.
    std::string hint = !ssl_ && !received_any_ ? " (does this node require TLS?)" : "";
    if (n == 0) return Status::unavailable(where() + ": closed the connection" + hint);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status::unavailable(where() + ": recv: " + std::strerror(errno) + hint);
    }
    received_any_ = true;
    if (low_water_ != 1) set_low_water(1);  // what is still missing may be shorter
    if (ssl_) {
      BIO_write(SSL_get_rbio(ssl_), buf, static_cast<int>(n));
    } else {
      redisReaderFeed(reader_, buf, static_cast<size_t>(n));
      return Status::ok();
    }
  }
}

void Connection::set_low_water(int bytes) {
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0) low_water_ = bytes;
}

Status Connection::read(Reply* reply, Clock::time_point deadline) {
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK)
      return fail(Status::io_error(where() + ": protocol error: " + std::string(reader_->errstr)));
    if (raw) {
      *reply = convert(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      return Status::ok();
    }
    timed_out_ = false;
    Status s = fill(deadline);
    if (!s.is_ok()) {
      // Nothing arrived in time: the stream is intact (pub/sub waits like
      // this). Any other failure breaks the connection.
      return timed_out_ ? s : fail(s);
    }
  }
}

Status Connection::read_available(std::vector<Reply>* replies) {
  if (broken_) return Status::internal(where() + ": connection used after a failure");
  char buf[16384];
  for (;;) {
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_, &raw) != REDIS_OK)
        return fail(Status::io_error(where() + ": protocol error: " + std::string(reader_->errstr)));
      if (!raw) break;
      replies->push_back(convert(static_cast<redisReply*>(raw)));
      freeReplyObject(raw);
    }
    if (ssl_) {
      ERR_clear_error();
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        redisReaderFeed(reader_, buf, static_cast<size_t>(n));
        continue;
      }
      int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_ZERO_RETURN) return fail(Status::unavailable(where() + ": closed the TLS connection"));
      if (e != SSL_ERROR_WANT_READ)
        return fail(Status::unavailable(where() + ": TLS read failed: " + openssl_errors()));
      bool wrote = false;
      Status f = flush_tls(Clock::now() + options_.command_timeout, &wrote);
      if (!f.is_ok()) return fail(f);
    }
    ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return fail(Status::unavailable(where() + ": closed the connection"));
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::ok();
      if (errno == EINTR) continue;
      return fail(Status::unavailable(where() + ": recv: " + std::strerror(errno)));
    }
    received_any_ = true;
    if (ssl_) {
      BIO_write(SSL_get_rbio(ssl_), buf, static_cast<int>(n));
    } else {
      redisReaderFeed(reader_, buf, static_cast<size_t>(n));
    }
  }
}

Status Connection::run(const std::vector<Command>& commands, std::vector<Reply>* replies, Clock::time_point deadline,
                       bool* maybe_executed) {
  *maybe_executed = false;
  deadline = std::min(deadline, Clock::now() + options_.command_timeout);
  // The replies to a pipeline often come in parts (WAIT answers only once a
  // replica confirmed). Every RESP reply is at least 3 bytes, so the kernel
  // may hold the wake-up until 3 bytes per command are there: one wake-up
  // instead of one per part, which matters when threads are many and CPUs
  // few. Plain TCP only: TLS records are longer than what they carry.
  if (!ssl_ && commands.size() > 1) set_low_water(static_cast<int>(3 * commands.size()));
  Status s = write_commands(commands, deadline, maybe_executed);
  if (!s.is_ok()) return s;
  replies->clear();
  replies->reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    Reply r;
    s = read(&r, deadline);
    if (!s.is_ok()) return fail(s);  // a timeout mid-pipeline desynchronises the stream
    replies->push_back(std::move(r));
  }
  return Status::ok();
}

bool Connection::looks_closed() {
  if (broken_ || fd_ < 0) return true;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLERR)) return broken_ = true;
  char buf[16384];
  if (!ssl_) {
    // An idle RESP connection has nothing to say: readable means closed, or
    // data we did not ask for.
    return broken_ = true;
  }
  // TLS: a session ticket may arrive after the handshake. Take what is there
  // and see whether it is more than protocol housekeeping.
  ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
  if (n <= 0) return broken_ = true;
  BIO_write(SSL_get_rbio(ssl_), buf, static_cast<int>(n));
  ERR_clear_error();
  int r = SSL_read(ssl_, buf, sizeof buf);
  if (r > 0) return broken_ = true;
  return broken_ = SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ;
}

}  // namespace shadow::redis
