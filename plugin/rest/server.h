// The REST API's HTTP/1.1 server: cpp-httplib (Debian's libcpp-httplib)
// listening on plugin_opt_http_listen, optionally with TLS. Only transport
// here: every request is handed to RestApi, which routes and answers it.
//
// Each connection is served on one worker thread, started on demand up to
// `threads`; workers never call a broker function (api.h,
// publish_queue.h). A body that would be refused is answered from the request
// head, without reading it, and the connection is then closed. Create and destroy the server on the broker
// thread; signals the broker handles must be blocked by the caller while the
// server is created, so its threads inherit the mask.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "plugin/rest/api.h"

namespace httplib {
class Server;
}

namespace shadow::rest {

struct RestServerOptions {
  std::string host;
  int port = 0;
  int threads = 64;  // most connections served at once (a thread each)
  std::string tls_cert;  // PEM paths; both empty: plain HTTP
  std::string tls_key;
  size_t max_body_bytes = 131072;  // larger bodies get 413 without being kept
};

class RestServer {
 public:
  // Binds host:port and serves on a background thread. The error says what
  // failed (TLS files unusable, address in use, ...). `api` must outlive the
  // server.
  static StatusOr<std::unique_ptr<RestServer>> start(const RestServerOptions& options,
                                                     RestApi& api);

  // Stops accepting, lets in-flight requests finish (bounded by the read and
  // write timeouts) and joins every thread.
  ~RestServer();

  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

 private:
  struct Impl;
  explicit RestServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadow::rest
