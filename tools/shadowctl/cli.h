// The command line: global options, the subcommands and their arguments,
// parsed by CLI11. Parsing only: commands.h acts on the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace shadowctl {

struct GlobalOptions {
  std::string endpoint = "http://127.0.0.1:8080";  // env SHADOWCTL_ENDPOINT
  std::string credentials_file;
  std::string access_key;  // env AWS_ACCESS_KEY_ID
  std::string secret_key;  // env AWS_SECRET_ACCESS_KEY
  std::string region = "us-east-1";
  bool no_auth = false;
  bool json = false;
  bool no_color = false;
  std::string ca_file;  // https endpoints
  bool insecure = false;
  int timeout_seconds = 30;
};

struct CommandArgs {
  std::string thing;
  std::optional<std::string> shadow;  // --shadow; nullopt: classic shadow

  // update
  std::optional<std::string> desired;
  std::optional<std::string> reported;
  std::optional<std::string> file;  // --file: a whole request document
  bool from_stdin = false;          // the '-' argument
  std::optional<int64_t> version;
  std::optional<std::string> client_token;

  // list, export
  int page_size = 0;  // 0: the server's default

  // watch
  std::string mqtt_host = "127.0.0.1";
  int mqtt_port = 1883;
  std::string mqtt_username;
  std::string mqtt_password;
  std::string mqtt_cafile;
  std::string mqtt_cert;
  std::string mqtt_key;
  int count = 0;         // stop after this many events; 0: no limit
  double timeout = 0;    // stop after this many seconds; 0: no limit

  // rules
  std::string rule_name;
  std::optional<std::string> rule_topic;  // rules list --topic
  std::optional<bool> rule_disabled;      // rules list --enabled / --disabled

  // export / import
  std::string out_file;            // export --file; empty: stdout
  std::string things_file;         // export --things
  std::vector<std::string> things;  // export THING...
  std::string in_file;             // import FILE ('-': stdin)
  bool replace = false;            // import --replace

  // search, fleet-update
  std::string query;                 // the fleet query (QUERY, --query)
  int limit = 100;                   // search, history: rows shown at most; 0: all
  bool count_only = false;           // search --count
  std::string stats_field;           // search --stats FIELD
  std::vector<std::string> columns;  // search --field PATH (repeatable)
  std::string operation_id;          // fleet-update --id; fleet-status/fleet-cancel ID
  bool no_wait = false;              // fleet-update --no-wait
  // history
  int64_t from_version = 0;          // --from-version
};

struct Invocation {
  GlobalOptions global;
  std::string command;  // "get", "update", ...
  std::string subcommand;  // "rules": "list", "get", "create", ...
  CommandArgs args;
};

// Parses argv. Returns nullopt when the program should carry on with
// `*out`; otherwise the exit status (0 after --help, 1 after a usage error,
// with the message already printed).
std::optional<int> parse_command_line(int argc, char** argv, Invocation* out);

}  // namespace shadowctl
