// AWS Signature Version 4 verification for the REST API (docs/rest-api.md#authentication), so
// boto3, the AWS CLI and the other AWS SDKs can call us unchanged.
//
// Only the Authorization-header form is supported (not presigned query
// strings, not SigV4a, not chunked/streaming payloads). The canonical request
// is built the way botocore builds it for services other than S3:
//   * URI: the path as received (still percent-encoded), with empty and dot
//     segments removed, percent-encoded once more: "%24aws%2Fthings" is
//     canonicalised as "%2524aws%252Fthings". The REST API refuses paths
//     that have such segments before it verifies (rest::path_problem), so a
//     signature it accepts covers exactly the path it routes;
//   * query: every `key=value` pair percent-decoded, re-encoded (only
//     A-Z a-z 0-9 - _ . ~ stay literal), sorted by key then value;
//   * headers: the ones named in SignedHeaders, values trimmed with inner
//     runs of whitespace collapsed, repeated headers joined with ',';
//   * payload: the x-amz-content-sha256 header if present (UNSIGNED-PAYLOAD
//     or a hex digest, which must match the body), else SHA-256 of the body.
// Pure code: no HTTP library, no broker headers; nothing throws.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/credentials.h"

namespace shadow::auth {

// A request as the HTTP server received it. All views must outlive the call.
struct HttpRequestView {
  std::string_view method;     // as sent, e.g. "POST"
  std::string_view raw_path;   // as received, percent-encoded, without the query
  std::string_view raw_query;  // as received, without '?'; empty if none
  std::vector<std::pair<std::string, std::string>> headers;  // names in any case
  std::string_view body;
};

struct Sigv4Options {
  // The service component of the credential scope. botocore signs iot-data
  // calls as "iotdata"; the AWS documentation says "iotdevicegateway".
  std::vector<std::string> allowed_services{"iotdata", "iotdevicegateway"};
  // How far the request time may be from the server's clock, either way.
  std::chrono::seconds max_clock_skew{15 * 60};
  // Accept x-amz-content-sha256: UNSIGNED-PAYLOAD (the body is then not
  // covered by the signature; SDKs use it only over TLS when asked to).
  bool allow_unsigned_payload = true;
};

enum class Sigv4Failure {
  kNone,                   // verified
  kMissingAuthentication,  // no Authorization header
  kMalformed,              // Authorization/date/payload-hash headers unusable
  kInvalidScope,           // credential scope: wrong date, service or terminator
  kUnknownAccessKey,       // access key id not in the credential store
  kRequestTimeSkewed,      // request time too far from now
  kPayloadHashMismatch,    // x-amz-content-sha256 differs from the body's hash
  kSignatureMismatch,      // the signature does not match
};

// HTTP status for a failure: 400 for kMalformed and kPayloadHashMismatch,
// 403 for the rest (200 for kNone).
int http_status(Sigv4Failure failure);

// Value for the x-amzn-ErrorType header botocore reads:
// "InvalidRequestException" for 400s, "ForbiddenException" for 403s.
const char* error_type(Sigv4Failure failure);

struct VerifyResult {
  Sigv4Failure failure = Sigv4Failure::kNone;
  // The access key id from the Authorization header (set on success, and on
  // failures after the header parsed; useful for logging).
  std::string access_key_id;
  // A message for the error body; empty on success.
  std::string message;

  bool ok() const { return failure == Sigv4Failure::kNone; }
};

VerifyResult verify_sigv4(const HttpRequestView& request, const CredentialStore& credentials,
                          std::chrono::system_clock::time_point now,
                          const Sigv4Options& options = {});

// What a client needs to sign; used by tests and tools that talk to the API.
struct SigningParams {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region;
  std::string service;
  std::string amz_date;  // YYYYMMDD'T'HHMMSS'Z'; must match the request's date header
  // Lowercase header names to sign; each must be present in the request.
  std::vector<std::string> signed_headers{"host", "x-amz-date"};
};

// The Authorization header value for `request`, computed exactly as
// verify_sigv4 recomputes it; "" if a header in params.signed_headers is
// missing from the request.
std::string sign_sigv4(const HttpRequestView& request, const SigningParams& params);

// The canonical pieces, exposed for tests.
std::string canonical_uri(std::string_view raw_path);
std::string canonical_query_string(std::string_view raw_query);

}  // namespace shadow::auth
