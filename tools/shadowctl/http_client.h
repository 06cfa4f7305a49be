// The HTTP side of shadowctl: one keep-alive connection to the broker's REST
// API, every request signed with AWS SigV4 (service "iotdata", or the one a
// call names: "execute-api" for the rules and fleet search routes, as the AWS
// CLI signs them) when credentials are set. Knows nothing about shadows;
// shadow_api.h and fleet_api.h build the paths. Nothing throws: transport
// failures come back as status 0.
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace httplib {
class Client;
}

namespace shadowctl {

struct AccessKey {
  std::string id;
  std::string secret;
};

struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;
  int port = 0;
  // The Host header value, exactly as it is sent and signed.
  std::string host_header() const;
  std::string to_string() const;
};

// Parses "http://host[:port]" or "https://host[:port]" (a trailing '/' is
// allowed; other paths are not). Returns nullopt and sets `error` otherwise.
std::optional<Endpoint> parse_endpoint(const std::string& text, std::string* error);

// Why there was no HTTP answer, so messages can say what to check.
enum class TransportFailure {
  kNone,
  kUnreachable,  // connection refused, host unreachable, connect timeout
  kTls,          // handshake or certificate verification failed
  kNoAnswer,     // connected, but the answer never came (or was not HTTP)
  kOther,
};

struct HttpResponse {
  int status = 0;          // 0: no HTTP answer (see transport_error)
  TransportFailure transport = TransportFailure::kNone;
  std::string body;
  std::string error_type;  // x-amzn-ErrorType without the ":..." suffix
  std::string transport_error;  // set when status == 0

  bool ok() const { return status >= 200 && status < 300; }
};

struct ClientSettings {
  Endpoint endpoint;
  std::optional<AccessKey> key;  // nullopt: requests are sent unsigned
  std::string region = "us-east-1";
  std::string ca_file;           // https: CA bundle to verify the server with
  bool insecure = false;         // https: skip certificate verification
  int timeout_seconds = 30;
};

class HttpClient {
 public:
  explicit HttpClient(ClientSettings settings);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `path` and `query` must already be percent-encoded: they are sent and
  // signed byte for byte. `query` has no leading '?'. `service` is the
  // SigV4 service name: "iotdata" for the iot-data routes, "execute-api"
  // for the AWS IoT control plane (topic rules, fleet search).
  HttpResponse send(const std::string& method, const std::string& path,
                    const std::string& query = "", const std::string& body = "",
                    const std::string& service = "iotdata");

  const ClientSettings& settings() const { return settings_; }

 private:
  ClientSettings settings_;
  std::unique_ptr<httplib::Client> client_;
};

// Percent-encodes everything except A-Z a-z 0-9 - _ . ~ (RFC 3986
// unreserved), so the bytes sent are the bytes SigV4 canonicalises.
std::string percent_encode(const std::string& text);

}  // namespace shadowctl
