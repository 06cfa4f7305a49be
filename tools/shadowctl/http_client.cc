#include "tools/shadowctl/http_client.h"

#include <httplib.h>

#include <chrono>
#include <ctime>

#include "common/sigv4.h"

namespace shadowctl {

std::string Endpoint::host_header() const {
  // What cpp-httplib would send: the port is left out when it is the default.
  bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return default_port ? host : host + ":" + std::to_string(port);
}

std::string Endpoint::to_string() const { return scheme + "://" + host_header(); }

std::optional<Endpoint> parse_endpoint(const std::string& text, std::string* error) {
  Endpoint ep;
  std::string rest;
  if (text.rfind("http://", 0) == 0) {
    ep.scheme = "http";
    ep.port = 80;
    rest = text.substr(7);
  } else if (text.rfind("https://", 0) == 0) {
    ep.scheme = "https";
    ep.port = 443;
    rest = text.substr(8);
  } else {
    *error = "endpoint '" + text + "' must start with http:// or https://";
    return std::nullopt;
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) {
    *error = "endpoint '" + text + "' must not have a path (the API lives at the root)";
    return std::nullopt;
  }
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']') == std::string::npos) {
    std::string port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    char* end = nullptr;
    long value = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || value < 1 || value > 65535) {
      *error = "endpoint '" + text + "' has an invalid port";
      return std::nullopt;
    }
    ep.port = static_cast<int>(value);
  }
  if (rest.empty()) {
    *error = "endpoint '" + text + "' has no host";
    return std::nullopt;
  }
  ep.host = rest;
  return ep;
}

std::string percent_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

namespace {

std::string amz_date_now() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// httplib's own names ("Connection", "Read") say little on their own.
std::string describe(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "could not connect (connection refused or host unreachable)";
    case httplib::Error::ConnectionTimeout:
      return "the connection timed out";
    case httplib::Error::Read:
      return "no answer (the connection closed or the read timed out)";
    case httplib::Error::Write:
      return "the request could not be sent (connection closed)";
    case httplib::Error::SSLConnection:
      return "the TLS handshake failed (is the endpoint really https?)";
    case httplib::Error::SSLLoadingCerts:
      return "the CA certificates could not be loaded (check --ca-file)";
    case httplib::Error::SSLServerVerification:
      return "the server certificate is not trusted (give its CA with --ca-file)";
    default:
      return httplib::to_string(error);
  }
}

}  // namespace

HttpClient::HttpClient(ClientSettings settings) : settings_(std::move(settings)) {
  const Endpoint& ep = settings_.endpoint;
  client_ = std::make_unique<httplib::Client>(ep.scheme + "://" + ep.host + ":" +
                                              std::to_string(ep.port));
  // Paths are encoded by percent_encode and signed as sent: cpp-httplib must
  // not encode them a second time.
  client_->set_url_encode(false);
  client_->set_keep_alive(true);
  // Headers and body go out in separate writes: without TCP_NODELAY the body
  // waits for the ACK of the headers (about 40 ms per request on Linux).
  client_->set_tcp_nodelay(true);
  client_->set_connection_timeout(5);
  client_->set_read_timeout(settings_.timeout_seconds);
  client_->set_write_timeout(settings_.timeout_seconds);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  if (ep.scheme == "https") {
    if (!settings_.ca_file.empty()) client_->set_ca_cert_path(settings_.ca_file);
    client_->enable_server_certificate_verification(!settings_.insecure);
  }
#endif
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::send(const std::string& method, const std::string& path,
                              const std::string& query, const std::string& body,
                              const std::string& service) {
  HttpResponse out;
  if (!client_->is_valid()) {
    out.transport_error = "cannot use endpoint " + settings_.endpoint.to_string() +
                          (settings_.endpoint.scheme == "https"
                               ? " (this build of cpp-httplib has no TLS support?)"
                               : "");
    out.transport = TransportFailure::kOther;
    return out;
  }

  httplib::Request req;
  req.method = method;
  req.path = query.empty() ? path : path + "?" + query;
  req.body = body;
  std::string host = settings_.endpoint.host_header();
  req.set_header("Host", host);
  if (!body.empty()) req.set_header("Content-Type", "application/json");

  if (settings_.key) {
    std::string date = amz_date_now();
    req.set_header("X-Amz-Date", date);
    shadow::auth::HttpRequestView view;
    view.method = method;
    view.raw_path = path;
    view.raw_query = query;
    view.headers = {{"host", host}, {"x-amz-date", date}};
    view.body = body;
    shadow::auth::SigningParams params;
    params.access_key_id = settings_.key->id;
    params.secret_access_key = settings_.key->secret;
    params.region = settings_.region;
    params.service = service;
    params.amz_date = date;
    req.set_header("Authorization", shadow::auth::sign_sigv4(view, params));
  }

  httplib::Result res = client_->send(req);
  if (!res) {
    out.transport_error = describe(res.error());
    switch (res.error()) {
      case httplib::Error::Connection:
      case httplib::Error::ConnectionTimeout:
        out.transport = TransportFailure::kUnreachable;
        break;
      case httplib::Error::SSLConnection:
      case httplib::Error::SSLLoadingCerts:
      case httplib::Error::SSLServerVerification:
        out.transport = TransportFailure::kTls;
        break;
      case httplib::Error::Read:
      case httplib::Error::Write:
        out.transport = TransportFailure::kNoAnswer;
        break;
      default:
        out.transport = TransportFailure::kOther;
    }
    return out;
  }
  out.status = res->status;
  out.body = res->body;
  std::string type = res->get_header_value("x-amzn-ErrorType");
  out.error_type = type.substr(0, type.find(':'));
  return out;
}

}  // namespace shadowctl
