// shadowctl's exit statuses. Scripts depend on these numbers: never renumber,
// only append (docs/shadowctl.md lists them).
#pragma once

namespace shadowctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,         // bad arguments, unreadable or invalid input file/JSON
  kExitNotFound = 2,      // HTTP 404: no such shadow
  kExitConflict = 3,      // HTTP 409: version conflict
  kExitRequestError = 4,  // any other 4xx (400 invalid request, 403 auth, 413, ...)
  kExitServerError = 5,   // 5xx
  kExitConnection = 6,    // no HTTP answer: refused, timeout, TLS, DNS, MQTT connect
  kExitTimeout = 7,       // watch: --timeout expired before --count events arrived
  kExitIncomplete = 8,    // fleet-update: cancelled, failed, or some shadows not updated
};

// The exit status for an HTTP answer (status 0 means "no answer").
inline ExitCode exit_code_for_status(int status) {
  if (status == 0) return kExitConnection;
  if (status >= 200 && status < 300) return kExitOk;
  if (status == 404) return kExitNotFound;
  if (status == 409) return kExitConflict;
  if (status >= 500) return kExitServerError;
  return kExitRequestError;
}

}  // namespace shadowctl
