// The error catalogue (docs/mqtt-api.md#errors): status codes, exact messages, and the REST
// exception name botocore maps each code to.
#pragma once

#include <string>

namespace shadow {

struct Error {
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
