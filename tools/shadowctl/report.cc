#include <rapidjson/document.h>

#include "tools/shadowctl/context.h"
#include "tools/shadowctl/exit_codes.h"

namespace shadowctl {

std::string error_message(const HttpResponse& r) {
  rapidjson::Document doc;
  doc.Parse(r.body.c_str(), r.body.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    for (const char* key : {"message", "Message"}) {
      auto m = doc.FindMember(key);
      if (m != doc.MemberEnd() && m->value.IsString()) return m->value.GetString();
    }
  }
  std::string body = r.body.substr(0, 300);
  return body.empty() ? "(empty body)" : body;
}

namespace {

std::string shadow_args(const ShadowRef& ref) {
  return ref.thing + (ref.shadow ? " --shadow " + *ref.shadow : "");
}

}  // namespace

int report_failure(const Context& ctx, const HttpResponse& r, const ShadowRef* ref) {
  const Output& out = ctx.out;
  const std::string endpoint = ctx.http.settings().endpoint.to_string();
  int code = exit_code_for_status(r.status);

  if (r.status == 0) {
    const Endpoint& ep = ctx.http.settings().endpoint;
    out.error("cannot reach the REST API at " + endpoint + ": " + r.transport_error);
    switch (r.transport) {
      case TransportFailure::kTls:
        out.hint("the broker's certificate is plugin_opt_http_tls_cert; pass its CA with "
                 "--ca-file FILE (or --insecure to skip the check while testing)");
        break;
      case TransportFailure::kNoAnswer:
        if (ep.scheme == "http") {
          out.hint("if the broker serves HTTPS (plugin_opt_http_tls_cert), use --endpoint https://" +
                   ep.host_header());
        } else {
          out.hint("the broker may be overloaded or the request too slow; try --timeout-s 120");
        }
        break;
      default:
        out.hint("is the broker running with plugin_opt_http_listen " + ep.host + ":" +
                 std::to_string(ep.port) + "? For a local broker try: scripts/run-broker.sh "
                 "--opt http_listen=127.0.0.1:8080 --opt http_auth=none");
        out.hint("or point shadowctl elsewhere with --endpoint URL or SHADOWCTL_ENDPOINT");
    }
    return code;
  }

  std::string what = std::to_string(r.status) + (r.error_type.empty() ? "" : " " + r.error_type);
  std::string message = error_message(r);
  if (r.status == 404) {
    if (r.error_type == "ResourceNotFoundException" && ref != nullptr &&
        message.rfind("No shadow exists", 0) == 0) {
      out.error("no " + ref->describe() + " (" + what + ": " + message + ")");
      if (ref->shadow) {
        out.hint("list the thing's named shadows with: shadowctl list " + ref->thing);
      } else {
        out.hint("create it with: shadowctl update " + ref->thing + " --reported '{...}'");
      }
    } else {
      out.error(endpoint + " answered " + what + ": " + message);
      out.hint("is " + endpoint + " the mosquitto-shadow REST API (plugin_opt_http_listen)?");
    }
  } else if (r.status == 409) {
    out.error("version conflict on " + (ref ? ref->describe() : std::string("the shadow")) +
              ": " + message);
    if (ref) {
      out.hint("read the current version with: shadowctl get " + shadow_args(*ref) +
               ", then retry with that --version (or without --version)");
    }
  } else if (r.status == 403) {
    out.error("the broker refused the request (" + what + "): " + message);
    if (!ctx.key.key) {
      out.hint("this broker checks SigV4 signatures: give --credentials-file FILE, "
               "--access-key/--secret-key, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    } else {
      out.hint("signed with " + ctx.key.source + ": check that this pair is in the broker's "
               "plugin_opt_http_credentials_file and that both clocks are right (15 min "
               "tolerance)");
    }
  } else if (r.status == 413) {
    out.error("too large (" + what + "): " + message);
    out.hint("the broker's limits are plugin_opt_max_payload_bytes and "
             "plugin_opt_max_document_bytes");
  } else if (r.status >= 500) {
    out.error("the broker failed (" + what + "): " + message);
    out.hint("see the broker's log; the request may be retried");
  } else {
    out.error("request rejected (" + what + "): " + message);
    if (r.status == 400) out.hint("see docs/rest-api.md and docs/compatibility.md for the rules");
  }
  return code;
}

}  // namespace shadowctl
