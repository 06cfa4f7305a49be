#include "plugin/rest_server.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

// Debian's libcpp-httplib is the split build: httplib.h declares, the shared
// library defines. Its pkg-config flags (CPPHTTPLIB_OPENSSL_SUPPORT, ...) must
// be the ones it was built with, or the class layouts differ.
#include <httplib.h>

namespace shadow::rest {
namespace {

// Slow or idle clients hold a worker thread (cpp-httplib serves each
// connection on one thread) for at most these times per read or write, and
// an idle keep-alive connection for at most kKeepAliveIdle.
constexpr time_t kReadTimeoutS = 5;
constexpr time_t kWriteTimeoutS = 5;
constexpr time_t kKeepAliveIdleS = 2;
constexpr size_t kKeepAliveMaxRequests = 100;

const char* kRequestIdHeader = "x-amzn-RequestId";

void write_response(const HttpResponse& r, std::string_view request_id, httplib::Response& res) {
  res.status = r.status;
  res.set_header(kRequestIdHeader, std::string(request_id));
  // botocore reads the code before the first ':'; AWS sends the trailing ':'.
  if (!r.error_type.empty()) res.set_header("x-amzn-ErrorType", r.error_type + ":");
  res.set_content(r.body, r.content_type.c_str());
}

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
    // cpp-httplib sets 413 itself when Content-Length is above its limit.
    if (!complete && res.status == 413) too_large = true;
    if (too_large || !complete) {
      std::string id = new_request_id();
      write_response(api->transport_error(too_large ? 413 : 400, id), id, res);
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

std::variant<std::unique_ptr<RestServer>, std::string> RestServer::start(
    const RestServerOptions& options, RestApi& api) {
  auto impl = std::make_unique<Impl>();
  impl->api = &api;
  impl->max_body_bytes = options.max_body_bytes;

  if (!options.tls_cert.empty()) {
    impl->server = std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(),
                                                        options.tls_key.c_str());
    if (!impl->server->is_valid()) {
      return "cannot use the TLS certificate '" + options.tls_cert + "' with key '" +
             options.tls_key +
             "': check that both are readable PEM files by the broker's user and that the key "
             "matches the certificate";
    }
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *impl->server;
  Impl* self = impl.get();

  int threads = options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_read_timeout(kReadTimeoutS, 0);
  s.set_write_timeout(kWriteTimeoutS, 0);
  s.set_keep_alive_timeout(kKeepAliveIdleS);
  s.set_keep_alive_max_count(kKeepAliveMaxRequests);
  s.set_tcp_nodelay(true);
  // A Content-Length above the cap is refused (413) before the body is kept.
  s.set_payload_max_length(options.max_body_bytes);

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
    return "cannot listen on " + where + " (plugin_opt_http_listen): " +
           (err != 0 ? std::string(std::strerror(err)) : std::string("bind failed")) +
           "; is another process using the port, or is the address not local?";
  }
  self->thread = std::thread([self] { self->server->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it (bounded), so
  // the destructor can always stop the server.
  for (int i = 0; i < 2000 && !s.is_running(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<RestServer>(new RestServer(std::move(impl)));
}

}  // namespace shadow::rest
