// How the shadow service refuses a request, AWS's way: a Rejection is the
// code and message of the error document sent on /rejected (or as the REST
// error body). It is an answer, not a failure of ours: failures of the
// store, the disk or the network are shadow::Status values
// (common/status.h), which the service turns into the 500 rejection.
//
// The catalogue below holds the exact messages AWS sends, and the REST
// exception name botocore maps each code to; docs/mqtt-api.md#errors lists
// every code with its message.
#pragma once

#include <string>

namespace shadow {

struct Rejection {
  // 400, 401, 403, 404, 409, 413, 415, 429, 500 or 503: the HTTP status of
  // the REST answer, and "code" in the error document.
  int code = 0;
  std::string message;
};

namespace messages {
inline constexpr const char* kUnsupportedEncoding =
    "Unsupported documented encoding; supported encoding is UTF-8";  // sic, as AWS sends it
inline constexpr const char* kMissingState = "Missing required node: state";
inline constexpr const char* kInvalidClientToken = "Invalid clientToken";
inline constexpr const char* kStateNotObject = "State node must be an object";
inline constexpr const char* kDesiredNotObject = "Desired node must be an object";
inline constexpr const char* kReportedNotObject = "Reported node must be an object";
inline constexpr const char* kInvalidNodePrefix = "State contains an invalid node: '";
inline constexpr const char* kInvalidVersion = "Invalid version";
inline constexpr const char* kTooDeepPrefix = "JSON contains too many levels of nesting; maximum is ";
inline constexpr const char* kVersionConflict = "Version conflict";
inline constexpr const char* kTooLarge = "The payload exceeds the maximum size allowed";
inline constexpr const char* kInternal = "Internal service failure";
inline constexpr const char* kNoShadowPrefix = "No shadow exists with name: '";
}  // namespace messages

// The value of the x-amzn-ErrorType header for an error status, e.g.
// "ConflictException" for 409. Unknown codes map to InternalFailureException.
const char* rest_error_type(int code);

}  // namespace shadow
