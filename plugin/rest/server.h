// The REST API's HTTP/1.1 server, listening on plugin_opt_http_listen,
// optionally with TLS. Only transport here: every complete request is handed
// to RestApi, which routes and answers it.
//
// Built on Boost.Beast (HTTP parsing and serialization, limits on the head
// and the body) over Boost.Asio (event-driven sockets, timers, OpenSSL).
// One I/O thread serves every connection with non-blocking sockets, so idle
// or slow clients cost a socket and a few kilobytes each, never a thread:
//  - the request head (request line and header fields) is capped at
//    max_header_bytes (431, or 414 while the request line is unfinished) and
//    must arrive within head_timeout, counted from the accept or from the
//    previous response (so it also bounds idle keep-alive connections);
//  - the body is capped at max_body_bytes (413; a Content-Length above it is
//    refused from the head, before any body byte is read) and must arrive
//    within head_timeout after the head;
//  - connections are bounded in total and per client address; one over a
//    limit is closed right after accept, with a 503 first on plain HTTP;
//  - a complete request goes to a pool of `threads` workers (it may wait
//    there for a shadow lock or a durable fsync); its answer is written back
//    by the I/O thread within a write deadline.
// A request refused before its body was read is answered with
// "Connection: close", and the connection is then closed gracefully (the
// client's unread bytes are drained for a moment so the answer is not lost
// to a reset). Workers never call a broker function (api.h,
// publish_queue.h).
//
// Create and destroy the server on the broker thread; signals the broker
// handles must be blocked by the caller while the server is created, so its
// threads inherit the mask.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"
#include "plugin/rest/api.h"
#include "plugin/runtime/metrics.h"

namespace shadow::rest {

struct RestServerOptions {
  std::string host;
  int port = 0;
  int threads = 64;                  // worker threads: requests processed at once
  std::string tls_cert;              // PEM paths; both empty: plain HTTP
  std::string tls_key;
  size_t max_body_bytes = 131072;    // larger bodies get 413 without being kept
  size_t max_header_bytes = 16384;   // request line and header fields
  size_t max_connections = 512;      // open at once, in total
  size_t max_connections_per_ip = 64;  // per client address; 0: no limit
  std::chrono::seconds head_timeout{10};  // for the head, then again for the body
  runtime::Metrics* metrics = nullptr;    // connection figures; null: not counted
};

class RestServer {
 public:
  // Binds host:port and serves on background threads. The error says what
  // failed (TLS files unusable, address in use, ...). `api` (and
  // `options.metrics`) must outlive the server.
  static StatusOr<std::unique_ptr<RestServer>> start(const RestServerOptions& options,
                                                     RestApi& api);

  // Stops accepting and closes every connection; requests already in a
  // worker finish (their answers are not sent), queued ones are dropped.
  // Joins every thread.
  ~RestServer();

  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

 private:
  struct Impl;
  explicit RestServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadow::rest
