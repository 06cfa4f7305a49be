#include "plugin/rest/server.h"

#include <openssl/ssl.h>

#include <array>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <sstream>
#include <thread>
#include <type_traits>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "plugin/rest/connection_limits.h"
#include "plugin/rest/head_checks.h"
#include "plugin/rest/worker_pool.h"

namespace shadow::rest {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// A client that does not read its answer is cut off after this.
constexpr std::chrono::seconds kWriteTimeout{10};
// Closing after a refused request: how long, and how much, of what the
// client still sends is read and dropped so that our answer is not lost to
// a reset.
constexpr std::chrono::seconds kLingerTime{2};
constexpr size_t kLingerMaxBytes = 1 << 20;
// accept() failing for lack of file descriptors or memory: the pause before
// the next attempt (the pending connection waits in the backlog).
constexpr std::chrono::milliseconds kAcceptRetry{100};
// Beyond the head limit, room in the read buffer for what one read brings.
constexpr size_t kReadSlack = 8192;

const char* const kRequestIdHeader = "x-amzn-RequestId";
const char* const kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Beast 1.74 uses boost::string_view.
std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }
beast::string_view view(std::string_view s) { return {s.data(), s.size()}; }

// What every connection shares; outlives them all (RestServer::Impl).
struct Shared {
  RestApi& api;
  const RestServerOptions& options;
  ConnectionLimits limits;
  WorkerPool workers;
  net::io_context& io;
};

enum class Stage { kHead, kBody };

// The answer to a request the parser refused, or 0 to close without one
// (the client closed or reset the connection, or a socket error). A head
// over the size limit gets 414 while its request line is unfinished (the
// target is what is too long), else 431.
int status_for_parse_error(const beast::error_code& ec, Stage stage, bool request_line_done) {
  static const auto& parse_errors = http::make_error_code(http::error::bad_method).category();
  if (ec.category() != parse_errors) return 0;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
  if (ec == http::error::body_limit) return 413;
  if (stage == Stage::kHead &&
      (ec == http::error::header_limit || ec == http::error::buffer_overflow)) {
    return request_line_done ? 431 : 414;
  }
  return 400;
}

// The HTTP answer as bytes, for the refusal written right after accept.
std::string serialize(const HttpResponse& r, std::string_view request_id) {
  http::response<http::string_body> res;
  res.version(11);
  res.result(static_cast<unsigned>(r.status));
  res.set(http::field::content_type, r.content_type);
  res.set(kRequestIdHeader, view(request_id));
  if (!r.error_type.empty()) res.set("x-amzn-ErrorType", r.error_type + ":");
  res.body() = r.body;
  res.prepare_payload();
  res.keep_alive(false);
  std::ostringstream out;
  out << res;
  return out.str();
}

// One connection, from accept to close. Lives in shared_ptrs held by its
// pending operation (there is at most one at a time) or by the worker job
// running its request.
template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(Shared& shared, tcp::socket socket, std::string address, ssl::context* tls)
      : shared_(shared),
        stream_(make_stream(std::move(socket), tls)),
        buffer_(shared.options.max_header_bytes + kReadSlack),
        address_(std::move(address)) {
    if (shared_.options.metrics != nullptr) shared_.options.metrics->http_connection_opened();
  }

  ~Session() {
    shared_.limits.release(address_);
    if (shared_.options.metrics != nullptr) shared_.options.metrics->http_connection_closed();
  }

  void start() {
    if constexpr (kTls) {
      // The handshake counts against the head's deadline.
      tcp().expires_after(shared_.options.head_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close_now(ec == beast::error::timeout, Stage::kHead);
                                self->read_head();
                              });
    } else {
      read_head();
    }
  }

 private:
  static Stream make_stream(tcp::socket socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      (void)tls;
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  void read_head() {
    head_request_ = false;
    version_ = 11;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_.options.max_header_bytes));
    // The body's size is checked from the head by refuse_from_head (which
    // answers every case the same way), then capped while it is read. Not
    // boost::none: Beast 1.74 compares the length with the optional, and an
    // empty optional is smaller than any length.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    tcp().expires_after(shared_.options.head_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              self->on_head(ec);
                            });
  }

  void on_head(beast::error_code ec) {
    if (ec) return fail(ec, Stage::kHead);
    const auto& req = parser_->get();
    head_request_ = req.method() == http::verb::head;
    version_ = req.version();
    HeaderList headers;
    for (const auto& field : req) {
      headers.emplace_back(std::string(view(field.name_string())), std::string(view(field.value())));
    }
    // A body that will be refused is not read at all; the client learns it
    // from the head, also instead of "100 Continue".
    if (int status = refuse_from_head(headers, shared_.options.max_body_bytes); status != 0) {
      return refuse(status);
    }
    if (parser_->is_done()) return dispatch();
    parser_->body_limit(shared_.options.max_body_bytes);
    if (expects_continue(headers) && version_ >= 11) {
      tcp().expires_after(kWriteTimeout);
      net::async_write(stream_, net::buffer(kContinue, std::strlen(kContinue)),
                       [self = this->shared_from_this()](beast::error_code e, size_t) {
                         if (e) return self->close_now(e == beast::error::timeout, Stage::kBody);
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {
    tcp().expires_after(shared_.options.head_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->fail(ec, Stage::kBody);
                       self->dispatch();
                     });
  }

  void fail(const beast::error_code& ec, Stage stage) {
    if (ec == beast::error::timeout) return close_now(true, stage);
    // Beast reports the request line once it has parsed all of it.
    bool request_line_done = !parser_->get().target().empty();
    int status = status_for_parse_error(ec, stage, request_line_done);
    if (status == 0) return close_now(false, stage);
    refuse(status);
  }

  // Answers `status` from the HTTP layer and closes: the rest of the
  // request is unread, and must not be parsed as the next one.
  void refuse(int status) {
    std::string id = new_request_id();
    write(shared_.api.transport_error(status, id), id, /*keep_alive=*/false);
  }

  // A complete request: to a worker. The connection has no operation
  // pending meanwhile, so the worker may read the parsed request.
  void dispatch() {
    tcp().expires_never();
    bool queued = shared_.workers.submit([self = this->shared_from_this()] {
      std::string id = new_request_id();
      HttpResponse response;
      try {
        response = self->handle(id);
      } catch (const std::exception&) {
        response = self->shared_.api.transport_error(500, id);
      }
      net::post(self->shared_.io, [self, response = std::move(response), id = std::move(id)] {
        self->write(response, id, self->parser_->get().keep_alive());
      });
    });
    if (!queued) close_now(false, Stage::kBody);  // shutting down
  }

  // Worker thread.
  HttpResponse handle(std::string_view request_id) {
    const auto& req = parser_->get();
    HttpRequest request;
    request.method = view(req.method_string());
    request.target = view(req.target());  // raw: the routes decode it themselves
    for (const auto& field : req) {
      request.headers.emplace_back(std::string(view(field.name_string())),
                                   std::string(view(field.value())));
    }
    request.body = req.body();
    return shared_.api.handle(request, request_id, std::chrono::system_clock::now());
  }

  void write(const HttpResponse& r, std::string_view request_id, bool keep_alive) {
    response_ = {};
    response_.version(version_);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(http::field::content_type, r.content_type);
    response_.set(kRequestIdHeader, view(request_id));
    // botocore reads the code before the first ':'; AWS sends the trailing ':'.
    if (!r.error_type.empty()) response_.set("x-amzn-ErrorType", r.error_type + ":");
    response_.content_length(r.body.size());
    if (!head_request_) response_.body() = r.body;  // HEAD: the length, no body
    response_.keep_alive(keep_alive);
    tcp().expires_after(kWriteTimeout);
    http::async_write(stream_, response_,
                      [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        if (ec) return self->close_now(ec == beast::error::timeout, Stage::kBody, true);
                        if (keep_alive) return self->read_head();
                        self->close_gracefully();
                      });
  }

  // Tells the client we are done, then drops what it still sends for a
  // moment before closing: closing with unread bytes would send a reset,
  // which can destroy our answer in the client's receive buffer.
  void close_gracefully() {
    tcp().expires_after(kLingerTime);
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        self->close_now(false, Stage::kBody);
      });
    } else {
      beast::error_code ignored;
      tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      linger();
    }
  }

  void linger() {
    tcp().async_read_some(net::buffer(discard_),
                          [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                            self->lingered_ += n;
                            if (ec || self->lingered_ > kLingerMaxBytes) {
                              return self->close_now(false, Stage::kBody);
                            }
                            self->linger();
                          });
  }

  void close_now(bool timed_out, Stage stage, bool writing = false) {
    if (timed_out && shared_.options.metrics != nullptr) {
      using S = runtime::Metrics::HttpStage;
      shared_.options.metrics->count_http_timeout(writing ? S::kWrite
                                                  : stage == Stage::kHead ? S::kHead
                                                                          : S::kBody);
    }
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
  }

  Shared& shared_;
  Stream stream_;
  beast::flat_buffer buffer_;  // bounded: head limit plus one read
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;  // kept while it is written
  bool head_request_ = false;
  unsigned version_ = 11;
  std::array<char, 2048> discard_{};
  size_t lingered_ = 0;
  const std::string address_;
};

// The client's address as the per-address limit counts it; an IPv4 client
// of a dual-stack listener counts as its IPv4 address.
std::string client_address(const net::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

}  // namespace

struct RestServer::Impl {
  // Declared in this order so that they are destroyed after the io_context,
  // whose destruction destroys the connections that use them.
  RestServerOptions options;
  std::unique_ptr<Shared> shared;
  std::optional<ssl::context> tls;
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  net::steady_timer accept_retry{io};
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (ec) {
        // Out of file descriptors or memory: try again shortly rather than
        // spin (the pending connection waits in the backlog).
        accept_retry.expires_after(kAcceptRetry);
        accept_retry.async_wait([this](beast::error_code e) {
          if (!e) accept();
        });
        return;
      }
      admit(std::move(socket));
      accept();
    });
  }

  void admit(tcp::socket socket) {
    beast::error_code ec;
    tcp::endpoint peer = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    std::string address = client_address(peer.address());
    switch (shared->limits.admit(address)) {
      case ConnectionLimits::Admission::kAdmitted:
        break;
      case ConnectionLimits::Admission::kOverTotal:
        return refuse(std::move(socket), runtime::Metrics::HttpLimit::kTotal);
      case ConnectionLimits::Admission::kOverPerAddress:
        return refuse(std::move(socket), runtime::Metrics::HttpLimit::kPerAddress);
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (tls) {
      std::make_shared<Session<true>>(*shared, std::move(socket), std::move(address), &*tls)->start();
    } else {
      std::make_shared<Session<false>>(*shared, std::move(socket), std::move(address), nullptr)->start();
    }
  }

  // Over a connection limit: a 503 if it fits in the socket buffer at once
  // (plain HTTP; a TLS client would need a handshake first), then close.
  void refuse(tcp::socket socket, runtime::Metrics::HttpLimit limit) {
    if (options.metrics != nullptr) options.metrics->count_http_refused(limit);
    beast::error_code ignored;
    if (!tls) {
      std::string id = new_request_id();
      std::string message =
          limit == runtime::Metrics::HttpLimit::kTotal
              ? "Too many open connections to the REST API; retry later"
              : "Too many open connections from your address to the REST API; close idle ones "
                "or retry later";
      std::string bytes = serialize(
          control_plane_error(503, "ServiceUnavailableException", message), id);
      socket.non_blocking(true, ignored);
      socket.write_some(net::buffer(bytes), ignored);
    }
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
  }

  // The I/O thread. A handler that throws (out of memory) loses its
  // connection, not the server.
  void run() {
    auto work = net::make_work_guard(io);
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception&) {
      }
    }
  }
};

RestServer::RestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RestServer::~RestServer() {
  if (!impl_) return;
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->shared->workers.stop();
}

StatusOr<std::unique_ptr<RestServer>> RestServer::start(const RestServerOptions& options,
                                                        RestApi& api) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const RestServerOptions& o = impl->options;
  impl->shared.reset(new Shared{api, o, ConnectionLimits(o.max_connections, o.max_connections_per_ip),
                                WorkerPool(static_cast<size_t>(o.threads)), impl->io});

  if (!o.tls_cert.empty()) {
    impl->tls.emplace(ssl::context::tls_server);
    ssl::context& ctx = *impl->tls;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::single_dh_use);
    beast::error_code cert_error, key_error;
    ctx.use_certificate_chain_file(o.tls_cert, cert_error);
    ctx.use_private_key_file(o.tls_key, ssl::context::pem, key_error);
    if (cert_error || key_error || SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      return Status::invalid_argument(
          "cannot use the TLS certificate '" + o.tls_cert + "' with key '" + o.tls_key +
          "': check that both are readable PEM files by the broker's user and that the key "
          "matches the certificate");
    }
  }

  std::string where = o.host + ":" + std::to_string(o.port);
  auto cannot_listen = [&](const beast::error_code& ec) {
    return Status::io_error("cannot listen on " + where + " (plugin_opt_http_listen): " + ec.message() +
                            "; is another process using the port, or is the address not local?");
  };
  beast::error_code ec;
  tcp::resolver resolver(impl->io);
  auto endpoints = resolver.resolve(o.host, std::to_string(o.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) return cannot_listen(ec);
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  tcp::acceptor& acceptor = impl->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  // A deep backlog: bursts of new connections wait there instead of having
  // their SYNs dropped (and retried by the client only after 1 s, then 3 s).
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return cannot_listen(ec);

  Impl* self = impl.get();
  self->accept();
  self->thread = std::thread([self] { self->run(); });
  return std::unique_ptr<RestServer>(new RestServer(std::move(impl)));
}

}  // namespace shadow::rest
