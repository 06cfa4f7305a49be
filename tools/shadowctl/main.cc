// shadowctl: command-line client for the mosquitto-shadow plugin.
// main only wires things together: parse the command line, choose the access
// key, open the REST client, run the subcommand.
#include <csignal>
#include <map>

#include "tools/shadowctl/auth.h"
#include "tools/shadowctl/cli.h"
#include "tools/shadowctl/commands.h"
#include "tools/shadowctl/exit_codes.h"

using namespace shadowctl;

namespace {

int run(const Invocation& inv) {
  Output out(OutputOptions{inv.global.json, inv.global.no_color});

  std::string error;
  auto endpoint = parse_endpoint(inv.global.endpoint, &error);
  if (!endpoint) {
    out.error(error);
    out.hint("example: --endpoint http://127.0.0.1:8080 (or set SHADOWCTL_ENDPOINT)");
    return kExitUsage;
  }
  auto key = choose_access_key(inv.global, &error);
  if (!key) {
    out.error(error);
    return kExitUsage;
  }

  ClientSettings settings;
  settings.endpoint = *endpoint;
  settings.key = key->key;
  settings.region = inv.global.region;
  settings.ca_file = inv.global.ca_file;
  settings.insecure = inv.global.insecure;
  settings.timeout_seconds = inv.global.timeout_seconds;
  HttpClient http(settings);
  ShadowApi api(http);
  Context ctx{inv, out, *key, http, api};

  static const std::map<std::string, int (*)(Context&)> commands = {
      {"get", cmd_get},       {"update", cmd_update}, {"delete", cmd_delete},
      {"list", cmd_list},     {"watch", cmd_watch},   {"export", cmd_export},
      {"import", cmd_import}, {"search", cmd_search}, {"fleet-update", cmd_fleet_update},
      {"fleet-status", cmd_fleet_status}, {"fleet-cancel", cmd_fleet_cancel}, {"history", cmd_history},
      {"rules", cmd_rules},
  };
  auto it = commands.find(inv.command);
  if (it == commands.end()) {
    out.error("unknown command '" + inv.command + "'");
    return kExitUsage;
  }
  return it->second(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  // A closed pipe (shadowctl ... | head) must end us quietly, not kill us
  // with SIGPIPE halfway through a write to the REST socket.
  std::signal(SIGPIPE, SIG_IGN);
  Invocation inv;
  if (auto code = parse_command_line(argc, argv, &inv)) return *code;
  return run(inv);
}
