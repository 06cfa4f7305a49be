#include "plugin/rest/server.h"

#include <strings.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

// Debian's libcpp-httplib is the split build: httplib.h declares, the shared
// library defines. Its pkg-config flags (CPPHTTPLIB_OPENSSL_SUPPORT, ...) must
// be the ones it was built with, or the class layouts differ.
#include <httplib.h>

namespace shadow::rest {
namespace {

// cpp-httplib serves each connection on one pool thread from accept to
// close. A connection that sends nothing holds its thread for kKeepAliveIdleS
// (cpp-httplib waits that long for every request, the first included); one
// that sends slowly holds it while each read arrives within kReadTimeoutS
// (per read, so a slow but progressing upload still works).
constexpr time_t kReadTimeoutS = 2;
constexpr time_t kWriteTimeoutS = 5;
constexpr time_t kKeepAliveIdleS = 2;
constexpr size_t kKeepAliveMaxRequests = 100;
constexpr int kListenBacklog = 128;

const char* kRequestIdHeader = "x-amzn-RequestId";

void write_response(const HttpResponse& r, std::string_view request_id, httplib::Response& res) {
  res.status = r.status;
  res.set_header(kRequestIdHeader, std::string(request_id));
  // botocore reads the code before the first ':'; AWS sends the trailing ':'.
  if (!r.error_type.empty()) res.set_header("x-amzn-ErrorType", r.error_type + ":");
  res.set_content(r.body, r.content_type.c_str());
}

// Answers with the connection closed afterwards: used when the request body
// is left unread (or half read), which must not be parsed as the next
// request. cpp-httplib closes a connection whose response could not be
// written completely, so the body goes out through a content provider that
// reports failure once it has written everything; "Connection: close" tells
// the client.
void write_response_and_close(const HttpResponse& r, std::string_view request_id,
                              httplib::Response& res) {
  res.status = r.status;
  res.set_header(kRequestIdHeader, std::string(request_id));
  if (!r.error_type.empty()) res.set_header("x-amzn-ErrorType", r.error_type + ":");
  res.set_header("Connection", "close");
  // Never empty (an error body), so the provider always runs.
  auto body = std::make_shared<const std::string>(r.body.empty() ? std::string("{}") : r.body);
  res.set_content_provider(body->size(), r.content_type.c_str(),
                           [body](size_t offset, size_t length, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, length);
                             return false;  // all written: now close
                           });
}

// The status refusing a request from its head alone, before any body byte is
// read; 0 to go on. cpp-httplib parses Content-Length with strtoull ("-5" is
// a huge length, "abc" is 0) and reads an over-limit body to its end before
// answering, tying a worker for as long as the client keeps sending.
int refuse_from_head(const httplib::Request& req, size_t max_body_bytes) {
  auto lengths = req.headers.equal_range("Content-Length");
  const bool has_length = lengths.first != lengths.second;
  if (req.has_header("Transfer-Encoding")) {
    // cpp-httplib only decodes "chunked"; any other coding would be read
    // until the connection closes. Both headers at once: ambiguous framing.
    std::string coding = req.get_header_value("Transfer-Encoding");
    if (strcasecmp(coding.c_str(), "chunked") != 0 || has_length) return 400;
    return 0;  // chunked: capped while it is read (serve_with_body)
  }
  std::string_view first;
  uint64_t length = 0;
  for (auto it = lengths.first; it != lengths.second; ++it) {
    std::string_view v = it->second;
    if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos) return 400;
    if (it != lengths.first && v != first) return 400;  // conflicting lengths
    first = v;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), length);
    if (ec == std::errc::result_out_of_range) return 413;  // all digits: just huge
    if (ec != std::errc() || end != v.data() + v.size()) return 400;
  }
  return length > max_body_bytes ? 413 : 0;
}

// cpp-httplib's ThreadPool has a fixed size, and every accepted connection
// holds a thread until it closes, idle or not: a few idle connections made
// everybody else wait in the queue. This pool starts another thread (up to
// `max`) whenever a connection arrives and no thread is free; threads stay
// once started (at most `max`, mostly asleep).
class OnDemandPool final : public httplib::TaskQueue {
 public:
  explicit OnDemandPool(size_t max) : max_(max < 1 ? 1 : max) {}

  void enqueue(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(fn));
    if (idle_ < jobs_.size() && threads_.size() < max_ && !stopping_)
      threads_.emplace_back([this] { run(); });
    cond_.notify_one();
  }

  // Called once the accept loop has ended: queued connections are still
  // served (as ThreadPool does), then every thread is joined.
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cond_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      idle_++;
      cond_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
      idle_--;
      if (jobs_.empty()) return;  // stopping, nothing left
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  const size_t max_;
  std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;  // only grows, under mutex_, until shutdown
  size_t idle_ = 0;
  bool stopping_ = false;
};

// cpp-httplib 0.11 listens with a backlog of 5: a burst of new connections
// beyond that has its SYNs dropped and waits for the client's retransmission
// (1 s, then 3 s). The listening socket is only reachable from a subclass.
template <class Base>
class WideBacklog final : public Base {
 public:
  using Base::Base;
  // Linux takes a second listen() on a listening socket as a new backlog.
  bool widen_backlog() { return ::listen(this->svr_sock_, kListenBacklog) == 0; }
};

}  // namespace

struct RestServer::Impl {
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  RestApi* api = nullptr;
  size_t max_body_bytes = 0;

  void serve(const httplib::Request& req, httplib::Response& res, std::string_view body) {
    std::string id = new_request_id();
    HttpRequest request;
    request.method = req.method;
    request.target = req.target;  // raw: the routes decode it themselves
    for (const auto& [name, value] : req.headers) request.headers.emplace_back(name, value);
    request.body = body;
    write_response(api->handle(request, id, std::chrono::system_clock::now()), id, res);
  }

  // Requests that may carry a body: read it ourselves with a cap, because
  // cpp-httplib applies its own limit neither to chunked nor to
  // Content-Encoding-decompressed bodies.
  void serve_with_body(const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader) {
    // Neither Content-Length nor Transfer-Encoding: a request has no body
    // (RFC 9112 6.3), but cpp-httplib would read until the connection closes.
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      serve(req, res, std::string_view());
      return;
    }
    // The body is read whatever the route: the signature covers it.
    std::string body;
    bool too_large = false;
    bool complete = reader([&](const char* data, size_t length) {
      if (body.size() + length > max_body_bytes) {
        too_large = true;
        return false;  // stop reading; the connection is then not reused
      }
      body.append(data, length);
      return true;
    });
    // cpp-httplib sets 413 itself when Content-Length is above its limit
    // (refuse_from_head answers those first).
    if (!complete && res.status == 413) too_large = true;
    if (too_large || !complete) {
      // The rest of the body is unread: close rather than parse it.
      std::string id = new_request_id();
      write_response_and_close(api->transport_error(too_large ? 413 : 400, id), id, res);
      return;
    }
    serve(req, res, body);
  }
};

RestServer::RestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RestServer::~RestServer() {
  if (!impl_) return;
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

StatusOr<std::unique_ptr<RestServer>> RestServer::start(const RestServerOptions& options,
                                                        RestApi& api) {
  auto impl = std::make_unique<Impl>();
  impl->api = &api;
  impl->max_body_bytes = options.max_body_bytes;

  std::function<bool()> widen_backlog;
  if (!options.tls_cert.empty()) {
    auto server = std::make_unique<WideBacklog<httplib::SSLServer>>(options.tls_cert.c_str(),
                                                                     options.tls_key.c_str());
    widen_backlog = [p = server.get()] { return p->widen_backlog(); };
    impl->server = std::move(server);
    if (!impl->server->is_valid()) {
      return Status::invalid_argument(
          "cannot use the TLS certificate '" + options.tls_cert + "' with key '" + options.tls_key +
          "': check that both are readable PEM files by the broker's user and that the key "
          "matches the certificate");
    }
  } else {
    auto server = std::make_unique<WideBacklog<httplib::Server>>();
    widen_backlog = [p = server.get()] { return p->widen_backlog(); };
    impl->server = std::move(server);
  }
  httplib::Server& s = *impl->server;
  Impl* self = impl.get();

  size_t threads = static_cast<size_t>(options.threads);
  s.new_task_queue = [threads] { return new OnDemandPool(threads); };
  s.set_read_timeout(kReadTimeoutS, 0);
  s.set_write_timeout(kWriteTimeoutS, 0);
  s.set_keep_alive_timeout(kKeepAliveIdleS);
  s.set_keep_alive_max_count(kKeepAliveMaxRequests);
  s.set_tcp_nodelay(true);
  // A Content-Length above the cap is refused (413) before the body is kept.
  s.set_payload_max_length(options.max_body_bytes);

  // A body that will be refused is not read at all: the answer comes from
  // the head, and the connection is closed with the body unread.
  auto refuse = [self](const httplib::Request& req, httplib::Response& res) {
    int status = refuse_from_head(req, self->max_body_bytes);
    if (status == 0) return false;
    std::string id = new_request_id();
    write_response_and_close(self->api->transport_error(status, id), id, res);
    return true;
  };
  s.set_pre_routing_handler([refuse](const httplib::Request& req, httplib::Response& res) {
    return refuse(req, res) ? httplib::Server::HandlerResponse::Handled
                            : httplib::Server::HandlerResponse::Unhandled;
  });
  // For responses that close the connection (write_response_and_close):
  // cpp-httplib adds its Keep-Alive header to every response it does not
  // close itself, and leaves out Content-Length when it answers before
  // routing (Expect: 100-continue).
  s.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.get_header_value("Connection") != "close") return;
    res.headers.erase("Keep-Alive");
    if (!res.has_header("Content-Length") && res.content_provider_)
      res.set_header("Content-Length", std::to_string(res.content_length_));
  });
  // "Expect: 100-continue" is answered before routing: a body that would be
  // refused gets its final answer instead of the go-ahead.
  s.set_expect_100_continue_handler([refuse](const httplib::Request& req, httplib::Response& res) {
    return refuse(req, res) ? res.status : 100;
  });

  // Every path and method goes to RestApi, which knows the routes; the
  // pattern must also match decoded newlines, hence [\s\S].
  const std::string any = R"([\s\S]*)";
  auto plain = [self](const httplib::Request& req, httplib::Response& res) {
    self->serve(req, res, req.body);
  };
  auto with_body = [self](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) {
    self->serve_with_body(req, res, reader);
  };
  s.Get(any, plain);  // also HEAD
  s.Options(any, plain);
  s.Post(any, with_body);
  s.Put(any, with_body);
  s.Patch(any, with_body);
  s.Delete(any, with_body);

  // Errors cpp-httplib produces itself (malformed request, 413, 414, an
  // unsupported method): give them the AWS error shape too. Responses
  // RestApi built already carry a request id and are left alone.
  s.set_error_handler(httplib::Server::HandlerWithResponse(
      [self](const httplib::Request&, httplib::Response& res) {
        if (res.has_header(kRequestIdHeader)) return httplib::Server::HandlerResponse::Unhandled;
        std::string id = new_request_id();
        write_response(self->api->transport_error(res.status, id), id, res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler([self](const httplib::Request&, httplib::Response& res,
                                 std::exception_ptr) {
    std::string id = new_request_id();
    write_response(self->api->transport_error(500, id), id, res);
  });

  if (!s.bind_to_port(options.host, options.port)) {
    int err = errno;
    std::string where = options.host + ":" + std::to_string(options.port);
    return Status::io_error("cannot listen on " + where + " (plugin_opt_http_listen): " +
                            (err != 0 ? std::string(std::strerror(err)) : std::string("bind failed")) +
                            "; is another process using the port, or is the address not local?");
  }
  // Without it bursts of connections only wait longer: not fatal.
  widen_backlog();
  self->thread = std::thread([self] { self->server->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it (bounded), so
  // the destructor can always stop the server.
  for (int i = 0; i < 2000 && !s.is_running(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<RestServer>(new RestServer(std::move(impl)));
}

}  // namespace shadow::rest
