// What every command works with: the output, the chosen access key and the
// REST client. Built once in main.cc from the parsed command line.
#pragma once

#include <string>

#include "tools/shadowctl/auth.h"
#include "tools/shadowctl/cli.h"
#include "tools/shadowctl/http_client.h"
#include "tools/shadowctl/output.h"
#include "tools/shadowctl/shadow_api.h"

namespace shadowctl {

struct Context {
  const Invocation& invocation;
  const Output& out;
  KeyChoice key;
  HttpClient& http;
  ShadowApi& api;

  const CommandArgs& args() const { return invocation.args; }
};

// Explains a failed request on stderr (what happened and what to try next)
// and returns the exit status for it. `ref` names the shadow concerned, if
// any.
int report_failure(const Context& ctx, const HttpResponse& response, const ShadowRef* ref);

// The "message" member of an error body, or the body itself if it is not
// JSON with a message.
std::string error_message(const HttpResponse& response);

}  // namespace shadowctl
