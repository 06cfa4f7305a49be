#include "common/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <variant>

namespace shadow::auth {

namespace {

using Seconds = std::chrono::sys_seconds;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// ---- hashing -------------------------------------------------------------

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

// Lowercase hex SHA-256, or "" if OpenSSL fails (which then fails closed:
// no signature can match an empty digest).
std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) return {};
  return to_hex(digest, size);
}

// Raw HMAC-SHA256 bytes, or "" on failure.
std::string hmac_sha256(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
           &size) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(mac), size);
}

// ---- percent-encoding ------------------------------------------------------

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.' || c == '~';
}

std::string percent_encode(std::string_view bytes, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "%XX" becomes the byte; a '%' not followed by two hex digits stays as is.
// '+' is not a space here: SDKs encode spaces as %20.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// RFC 3986 §5.2.4 plus the removal of empty segments, as botocore's
// remove_dot_segments does it.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out.append(segments[i]);
  }
  if (path.back() == '/' && !segments.empty()) out.push_back('/');
  return out;
}

// ---- headers ---------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Trims both ends and collapses inner whitespace runs to one space.
std::string trim_all(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (is_space(c)) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string_view> header_values(const HttpRequestView& request,
                                            std::string_view name) {
  std::vector<std::string_view> values;
  for (const auto& [key, value] : request.headers) {
    if (iequals(key, name)) values.push_back(value);
  }
  return values;
}

// ---- dates -----------------------------------------------------------------

std::optional<Seconds> make_time(int year, unsigned month, unsigned day, int hour, int minute,
                                 int second) {
  std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{month},
                                   std::chrono::day{day}};
  if (!date.ok() || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 ||
      second > 60) {
    return std::nullopt;
  }
  return std::chrono::sys_days{date} + std::chrono::hours{hour} +
         std::chrono::minutes{minute} + std::chrono::seconds{second};
}

// YYYYMMDD'T'HHMMSS'Z'
std::optional<Seconds> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t len) -> int {
    int value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  int year = number(0, 4), month = number(4, 2), day = number(6, 2);
  int hour = number(9, 2), minute = number(11, 2), second = number(13, 2);
  if (year < 0 || month < 0 || day < 0) return std::nullopt;
  return make_time(year, static_cast<unsigned>(month), static_cast<unsigned>(day), hour,
                   minute, second);
}

// RFC 7231 IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT"; botocore writes the
// zone as "-0000", so the numeric UTC forms are accepted too.
std::optional<Seconds> parse_http_date(std::string_view text) {
  std::size_t comma = text.find(',');
  if (comma != std::string_view::npos) text.remove_prefix(comma + 1);
  std::string copy(text);
  int day = 0, year = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  char month_name[4] = {};
  char zone[6] = {};
  if (std::sscanf(copy.c_str(), " %d %3s %d %d:%d:%d %5s%n", &day, month_name, &year, &hour,
                  &minute, &second, zone, &consumed) != 7 ||
      copy.find_first_not_of(' ', static_cast<std::size_t>(consumed)) != std::string::npos) {
    return std::nullopt;
  }
  std::string_view z(zone);
  if (z != "GMT" && z != "UTC" && z != "+0000" && z != "-0000") return std::nullopt;
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned m = 0; m < 12; ++m) {
    if (kMonths[m] == month_name) {
      return make_time(year, m + 1, static_cast<unsigned>(day), hour, minute, second);
    }
  }
  return std::nullopt;
}

std::string format_amz_date(Seconds time) {
  auto days = std::chrono::floor<std::chrono::days>(time);
  std::chrono::year_month_day date{days};
  std::chrono::hh_mm_ss clock{time - days};
  char text[32];
  std::snprintf(text, sizeof text, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return text;
}

// ---- the Authorization header ----------------------------------------------

struct Authorization {
  std::string access_key_id;
  std::string scope_date;
  std::string region;
  std::string service;
  std::string terminator;
  std::string signed_headers_line;           // as sent, e.g. "host;x-amz-date"
  std::vector<std::string> signed_headers;   // the same, split
  std::string signature;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Either the parsed header or what is wrong with it.
std::variant<Authorization, std::string> parse_authorization(std::string_view value) {
  value = trim(value);
  std::size_t space = value.find(' ');
  std::string_view algorithm = value.substr(0, space);
  if (algorithm != kAlgorithm) {
    return "Unsupported authorization algorithm '" + std::string(algorithm) + "'; only " +
           std::string(kAlgorithm) + " is accepted.";
  }
  std::string_view credential, signed_headers, signature;
  if (space != std::string_view::npos) {
    for (std::string_view part : split(value.substr(space + 1), ',')) {
      part = trim(part);
      std::size_t equals = part.find('=');
      std::string_view name = part.substr(0, equals);
      std::string_view* slot = name == "Credential"      ? &credential
                               : name == "SignedHeaders" ? &signed_headers
                               : name == "Signature"     ? &signature
                                                         : nullptr;
      if (equals == std::string_view::npos || slot == nullptr || !slot->empty()) {
        return "Authorization header has an unexpected or repeated component '" +
               std::string(part) + "'.";
      }
      *slot = part.substr(equals + 1);
    }
  }
  if (credential.empty() || signed_headers.empty() || signature.empty()) {
    return std::string(
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
        "parameters.");
  }

  Authorization auth;
  std::vector<std::string_view> scope = split(credential, '/');
  if (scope.size() != 5 || std::any_of(scope.begin(), scope.end(),
                                       [](std::string_view s) { return s.empty(); })) {
    return "Credential must have the form "
           "ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request, got '" +
           std::string(credential) + "'.";
  }
  auth.access_key_id = scope[0];
  auth.scope_date = scope[1];
  auth.region = scope[2];
  auth.service = scope[3];
  auth.terminator = scope[4];
  auth.signed_headers_line = signed_headers;
  for (std::string_view name : split(signed_headers, ';')) {
    if (name.empty()) return std::string("SignedHeaders has an empty header name.");
    auth.signed_headers.emplace_back(name);
  }
  auth.signature = signature;
  return auth;
}

// ---- canonical request and signature ---------------------------------------

// The payload hash line: the x-amz-content-sha256 header if sent, else the
// body's SHA-256.
std::string payload_hash(const HttpRequestView& request) {
  std::vector<std::string_view> declared = header_values(request, "x-amz-content-sha256");
  if (!declared.empty()) return std::string(declared.front());
  return sha256_hex(request.body);
}

// Either the canonical request or the name of a signed header the request
// lacks.
struct MissingHeader {
  std::string name;
};
std::variant<std::string, MissingHeader> canonical_request(
    const HttpRequestView& request, const std::vector<std::string>& signed_headers,
    std::string_view signed_headers_line, std::string_view hashed_payload) {
  std::string out(request.method);
  out += '\n';
  out += canonical_uri(request.raw_path);
  out += '\n';
  out += canonical_query_string(request.raw_query);
  out += '\n';
  for (const std::string& name : signed_headers) {
    std::vector<std::string_view> values = header_values(request, name);
    if (values.empty()) return MissingHeader{name};
    out += name;
    out += ':';
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      out += trim_all(values[i]);
    }
    out += '\n';
  }
  out += '\n';
  out += signed_headers_line;
  out += '\n';
  out += hashed_payload;
  return out;
}

// Lowercase hex signature, or "" if a hash failed.
std::string compute_signature(std::string_view secret, std::string_view amz_date,
                              std::string_view region, std::string_view service,
                              std::string_view canonical) {
  std::string_view day = amz_date.substr(0, 8);
  std::string scope = std::string(day) + '/' + std::string(region) + '/' +
                      std::string(service) + '/' + std::string(kTerminator);
  std::string hashed = sha256_hex(canonical);
  if (hashed.empty()) return {};
  std::string string_to_sign = std::string(kAlgorithm) + '\n' + std::string(amz_date) + '\n' +
                               scope + '\n' + hashed;
  std::string key = hmac_sha256("AWS4" + std::string(secret), day);
  for (std::string_view part : {region, service, kTerminator}) {
    if (key.empty()) return {};
    key = hmac_sha256(key, part);
  }
  if (key.empty()) return {};
  std::string mac = hmac_sha256(key, string_to_sign);
  if (mac.empty()) return {};
  return to_hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

VerifyResult fail(VerifyResult result, Sigv4Failure failure, std::string message) {
  result.failure = failure;
  result.message = std::move(message);
  return result;
}

}  // namespace

int http_status(Sigv4Failure failure) {
  switch (failure) {
    case Sigv4Failure::kNone:
      return 200;
    case Sigv4Failure::kMalformed:
    case Sigv4Failure::kPayloadHashMismatch:
      return 400;
    default:
      return 403;
  }
}

const char* error_type(Sigv4Failure failure) {
  int status = http_status(failure);
  return status == 400 ? "InvalidRequestException"
         : status == 403 ? "ForbiddenException"
                         : "";
}

std::string canonical_uri(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  return percent_encode(remove_dot_segments(raw_path), /*keep_slash=*/true);
}

std::string canonical_query_string(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::string_view piece : split(raw_query, '&')) {
    if (piece.empty()) continue;
    std::size_t equals = piece.find('=');
    std::string_view key = piece.substr(0, equals);
    std::string_view value =
        equals == std::string_view::npos ? std::string_view{} : piece.substr(equals + 1);
    pairs.emplace_back(percent_encode(percent_decode(key), false),
                       percent_encode(percent_decode(value), false));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

VerifyResult verify_sigv4(const HttpRequestView& request, const CredentialStore& credentials,
                          std::chrono::system_clock::time_point now,
                          const Sigv4Options& options) {
  VerifyResult result;
  std::vector<std::string_view> authorization = header_values(request, "authorization");
  if (authorization.empty()) {
    return fail(result, Sigv4Failure::kMissingAuthentication, "Missing Authentication Token");
  }
  if (authorization.size() > 1) {
    return fail(result, Sigv4Failure::kMalformed, "More than one Authorization header.");
  }
  auto parsed = parse_authorization(authorization.front());
  if (auto* message = std::get_if<std::string>(&parsed)) {
    return fail(result, Sigv4Failure::kMalformed, *message);
  }
  const Authorization& auth = std::get<Authorization>(parsed);
  result.access_key_id = auth.access_key_id;

  if (std::none_of(auth.signed_headers.begin(), auth.signed_headers.end(),
                   [](const std::string& name) { return iequals(name, "host"); })) {
    return fail(result, Sigv4Failure::kMalformed, "'Host' must be a signed header.");
  }

  // The request time: X-Amz-Date wins over Date, as in every AWS signer.
  std::optional<Seconds> request_time;
  std::vector<std::string_view> amz_dates = header_values(request, "x-amz-date");
  std::vector<std::string_view> dates = header_values(request, "date");
  if (amz_dates.size() > 1 || (amz_dates.empty() && dates.size() > 1)) {
    return fail(result, Sigv4Failure::kMalformed, "More than one date header.");
  }
  if (!amz_dates.empty()) {
    request_time = parse_amz_date(trim(amz_dates.front()));
    if (!request_time) {
      return fail(result, Sigv4Failure::kMalformed,
                  "X-Amz-Date must have the form YYYYMMDD'T'HHMMSS'Z', got '" +
                      std::string(amz_dates.front()) + "'.");
    }
  } else if (!dates.empty()) {
    request_time = parse_http_date(trim(dates.front()));
    if (!request_time) {
      return fail(result, Sigv4Failure::kMalformed,
                  "Date must be an HTTP date in GMT, got '" + std::string(dates.front()) + "'.");
    }
  } else {
    return fail(result, Sigv4Failure::kMalformed,
                "Authorization requires an 'X-Amz-Date' or a 'Date' header.");
  }
  std::string amz_date = format_amz_date(*request_time);

  if (auth.scope_date != std::string_view(amz_date).substr(0, 8)) {
    return fail(result, Sigv4Failure::kInvalidScope,
                "Credential scope date " + auth.scope_date +
                    " does not match the request date " + amz_date.substr(0, 8) + ".");
  }
  if (std::find(options.allowed_services.begin(), options.allowed_services.end(),
                auth.service) == options.allowed_services.end()) {
    return fail(result, Sigv4Failure::kInvalidScope,
                "Credential should be scoped to one of the services " +
                    join_names(options.allowed_services) + ", not '" + auth.service + "'.");
  }
  if (auth.terminator != kTerminator) {
    return fail(result, Sigv4Failure::kInvalidScope,
                "Credential scope must end with 'aws4_request', not '" + auth.terminator + "'.");
  }

  const std::string* secret = credentials.find_secret(auth.access_key_id);
  if (secret == nullptr) {
    return fail(result, Sigv4Failure::kUnknownAccessKey,
                "The security token included in the request is invalid.");
  }

  Seconds server_time = std::chrono::floor<std::chrono::seconds>(now);
  auto minutes = std::to_string(options.max_clock_skew.count() / 60);
  if (*request_time < server_time - options.max_clock_skew) {
    return fail(result, Sigv4Failure::kRequestTimeSkewed,
                "Signature expired: request time " + amz_date + " is more than " + minutes +
                    " min. before the server time " + format_amz_date(server_time) + ".");
  }
  if (*request_time > server_time + options.max_clock_skew) {
    return fail(result, Sigv4Failure::kRequestTimeSkewed,
                "Signature not yet current: request time " + amz_date + " is more than " +
                    minutes + " min. after the server time " + format_amz_date(server_time) +
                    ".");
  }

  std::string hashed_payload = payload_hash(request);
  if (hashed_payload == kUnsignedPayload) {
    if (!options.allow_unsigned_payload) {
      return fail(result, Sigv4Failure::kMalformed, "UNSIGNED-PAYLOAD is not accepted.");
    }
  } else if (hashed_payload.size() != 64 ||
             !std::all_of(hashed_payload.begin(), hashed_payload.end(),
                          [](char c) { return hex_value(c) >= 0; })) {
    return fail(result, Sigv4Failure::kMalformed,
                "x-amz-content-sha256 must be a SHA-256 hex digest or UNSIGNED-PAYLOAD.");
  } else if (!iequals(hashed_payload, sha256_hex(request.body))) {
    // Only reachable through the header: the body is not what was signed.
    return fail(result, Sigv4Failure::kPayloadHashMismatch,
                "The provided 'x-amz-content-sha256' header does not match what was "
                "computed.");
  }

  auto canonical =
      canonical_request(request, auth.signed_headers, auth.signed_headers_line, hashed_payload);
  if (auto* missing = std::get_if<MissingHeader>(&canonical)) {
    return fail(result, Sigv4Failure::kMalformed,
                "Signed header '" + missing->name + "' is not in the request.");
  }
  std::string expected = compute_signature(*secret, amz_date, auth.region, auth.service,
                                           std::get<std::string>(canonical));
  // Constant time, so response timing does not reveal how many leading
  // characters of a forged signature were right.
  if (expected.size() != 64 || auth.signature.size() != expected.size() ||
      CRYPTO_memcmp(expected.data(), auth.signature.data(), expected.size()) != 0) {
    return fail(result, Sigv4Failure::kSignatureMismatch,
                "The request signature we calculated does not match the signature you "
                "provided. Check your AWS Secret Access Key and signing method.");
  }
  return result;
}

std::string sign_sigv4(const HttpRequestView& request, const SigningParams& params) {
  std::string line;
  for (const std::string& name : params.signed_headers) {
    if (!line.empty()) line += ';';
    line += name;
  }
  auto canonical = canonical_request(request, params.signed_headers, line, payload_hash(request));
  if (std::holds_alternative<MissingHeader>(canonical)) return {};
  std::string signature =
      compute_signature(params.secret_access_key, params.amz_date, params.region,
                        params.service, std::get<std::string>(canonical));
  return std::string(kAlgorithm) + " Credential=" + params.access_key_id + '/' +
         params.amz_date.substr(0, 8) + '/' + params.region + '/' + params.service + '/' +
         std::string(kTerminator) + ", SignedHeaders=" + line + ", Signature=" + signature;
}

}  // namespace shadow::auth
