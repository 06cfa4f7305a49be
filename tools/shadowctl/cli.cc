#include "tools/shadowctl/cli.h"

#include <CLI/CLI.hpp>

namespace shadowctl {

namespace {

const char* kMainFooter = R"x(Commands talk to the broker's REST API (plugin_opt_http_listen); `watch`
subscribes over MQTT. Every command has its own --help with examples.

Examples:
  shadowctl get dev1
  shadowctl update dev1 --desired '{"lights":"on"}'
  shadowctl --json list dev1 | jq -r '.results[]'
  shadowctl watch dev1 --shadow config
  shadowctl export --file backup.jsonl && shadowctl import backup.jsonl
  shadowctl search 'shadow.reported.temp > 95 AND thingName:line-7*'
  shadowctl fleet-update --query 'thingName:line-7*' --desired '{"fan":"on"}'
  shadowctl history dev1
  shadowctl rules list

Environment: SHADOWCTL_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION, NO_COLOR.
Exit status: 0 ok, 1 usage or input error, 2 not found (404), 3 version
conflict (409), 4 other request error (4xx, e.g. 403 bad signature),
5 server error (5xx), 6 cannot connect, 7 watch --timeout before --count
events, 8 fleet-update did not update every matching shadow.
Documentation: docs/shadowctl.md)x";

void add_shadow_option(CLI::App* cmd, Invocation* out) {
  cmd->add_option_function<std::string>(
         "-s,--shadow", [out](const std::string& s) { out->args.shadow = s; },
         "Named shadow (default: the thing's classic shadow)")
      ->type_name("NAME");
}

void add_thing(CLI::App* cmd, Invocation* out) {
  cmd->add_option("thing", out->args.thing, "Thing name")->required()->type_name("THING");
}

}  // namespace

std::optional<int> parse_command_line(int argc, char** argv, Invocation* out) {
  CLI::App app{"shadowctl: read, change, watch and back up device shadows served by the "
               "mosquitto-shadow plugin.",
               "shadowctl"};
  app.footer(kMainFooter);
  app.require_subcommand(1);
  // Global options may come before or after the subcommand.
  app.fallthrough();
  app.get_formatter()->column_width(34);

  GlobalOptions& g = out->global;
  app.add_option("-e,--endpoint", g.endpoint, "REST API base URL")
      ->envname("SHADOWCTL_ENDPOINT")
      ->capture_default_str()
      ->type_name("URL");
  app.add_option("--credentials-file", g.credentials_file,
                 "File of `ACCESS_KEY_ID SECRET` lines, as the broker reads it; the key is "
                 "--access-key if given, else the first one")
      ->type_name("FILE");
  app.add_option("--access-key", g.access_key, "Access key id (env AWS_ACCESS_KEY_ID)")
      ->type_name("ID");
  app.add_option("--secret-key", g.secret_key, "Secret access key (env AWS_SECRET_ACCESS_KEY)")
      ->type_name("SECRET");
  app.add_option("--region", g.region, "SigV4 region; the broker accepts any")
      ->envname("AWS_REGION")
      ->capture_default_str();
  app.add_flag("--no-auth", g.no_auth,
               "Send unsigned requests (broker with plugin_opt_http_auth none)");
  app.add_flag("--json", g.json, "Compact JSON on stdout, for scripts");
  app.add_flag("--no-color", g.no_color, "No colors even on a terminal (also NO_COLOR=1)");
  app.add_option("--ca-file", g.ca_file, "CA certificate to verify an https endpoint")
      ->type_name("FILE");
  app.add_flag("--insecure", g.insecure, "https: do not verify the server certificate");
  app.add_option("--timeout-s", g.timeout_seconds, "HTTP read/write timeout in seconds")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();

  CommandArgs& a = out->args;

  // get
  CLI::App* get = app.add_subcommand("get", "Print a shadow document (GetThingShadow)");
  add_thing(get, out);
  add_shadow_option(get, out);
  get->footer(R"x(Examples:
  shadowctl get dev1                      # classic shadow
  shadowctl get dev1 --shadow config      # named shadow
  shadowctl --json get dev1 | jq .state.delta)x");

  // update
  CLI::App* update = app.add_subcommand(
      "update", "Change a shadow (UpdateThingShadow): merge desired/reported state");
  add_thing(update, out);
  add_shadow_option(update, out);
  std::string stdin_marker;
  update->add_option("input", stdin_marker, "'-' reads the whole request document from stdin")
      ->check(CLI::IsMember({"-"}))
      ->type_name("-");
  auto* desired = update->add_option_function<std::string>(
      "-d,--desired", [out](const std::string& s) { out->args.desired = s; },
      "JSON object merged into state.desired (null deletes a key)");
  desired->type_name("JSON");
  auto* reported = update->add_option_function<std::string>(
      "-r,--reported", [out](const std::string& s) { out->args.reported = s; },
      "JSON object merged into state.reported");
  reported->type_name("JSON");
  auto* file = update->add_option_function<std::string>(
      "-f,--file", [out](const std::string& s) { out->args.file = s; },
      "Read the whole request document {\"state\":{...}} from FILE");
  file->type_name("FILE");
  file->excludes(desired)->excludes(reported);
  update->add_option_function<int64_t>(
      "--version", [out](const int64_t& v) { out->args.version = v; },
      "Only apply if the shadow is at this version (else exit 3)")
      ->type_name("N");
  update->add_option_function<std::string>(
      "--client-token", [out](const std::string& s) { out->args.client_token = s; },
      "clientToken to send with the request")
      ->type_name("TOKEN");
  update->footer(R"x(Give the change with --desired and/or --reported, or a whole request document
with --file FILE or '-' (stdin).

Examples:
  shadowctl update dev1 --desired '{"lights":"on"}'
  shadowctl update dev1 --reported '{"lights":"on","temp":21.5}' --desired '{"lights":null}'
  shadowctl update dev1 --shadow config --file request.json
  echo '{"state":{"desired":{"fan":2}},"version":7}' | shadowctl update dev1 -)x");

  // delete
  CLI::App* del = app.add_subcommand("delete", "Delete a shadow (DeleteThingShadow)");
  add_thing(del, out);
  add_shadow_option(del, out);
  del->footer(R"x(Examples:
  shadowctl delete dev1
  shadowctl delete dev1 --shadow config || echo "no such shadow (exit $?)")x");

  // list
  CLI::App* list = app.add_subcommand(
      "list", "List a thing's named shadows, all pages (ListNamedShadowsForThing)");
  add_thing(list, out);
  list->add_option("--page-size", a.page_size, "Names per request, 1-100 (default: server's, 25)")
      ->check(CLI::Range(1, 100))
      ->type_name("N");
  list->footer(R"x(Follows nextToken until the last page. The classic shadow is never listed.

Examples:
  shadowctl list dev1
  shadowctl --json list dev1     # {"thing":"dev1","results":["config","ota"]})x");

  // watch
  CLI::App* watch = app.add_subcommand(
      "watch", "Print a shadow's MQTT events live (update/delta, update/documents, ...)");
  add_thing(watch, out);
  add_shadow_option(watch, out);
  watch->add_option("--mqtt-host", a.mqtt_host, "MQTT broker host")->capture_default_str();
  watch->add_option("--mqtt-port", a.mqtt_port, "MQTT broker port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  watch->add_option("--mqtt-username", a.mqtt_username, "MQTT user name");
  watch->add_option("--mqtt-password", a.mqtt_password, "MQTT password");
  watch->add_option("--mqtt-cafile", a.mqtt_cafile, "CA certificate: connect with TLS")
      ->type_name("FILE");
  watch->add_option("--mqtt-cert", a.mqtt_cert, "Client certificate (mutual TLS)")
      ->type_name("FILE");
  watch->add_option("--mqtt-key", a.mqtt_key, "Client private key (mutual TLS)")
      ->type_name("FILE");
  watch->add_option("-n,--count", a.count, "Exit after N events")
      ->check(CLI::Range(1, 1000000000))
      ->type_name("N");
  watch->add_option("-t,--timeout", a.timeout, "Exit after S seconds")
      ->check(CLI::Range(0.001, 1e9))
      ->type_name("S");
  watch->footer(R"x(Subscribes to update/delta, update/documents, update/accepted,
update/rejected, delete/accepted and delete/rejected of the shadow and prints
each event with the local time. Stops on Ctrl-C, after --count events or
after --timeout seconds (exit 0 in all three cases). With --json each event is
one line {"time":...,"topic":...,"event":...,"payload":...}.

Examples:
  shadowctl watch dev1
  shadowctl watch dev1 --shadow config --mqtt-port 1884
  shadowctl watch dev1 --mqtt-port 8883 --mqtt-cafile ca.crt --mqtt-cert app.crt --mqtt-key app.key
  shadowctl --json watch dev1 --count 1 --timeout 30)x");

  // export
  CLI::App* exp = app.add_subcommand(
      "export", "Back up shadows as JSON Lines (every shadow, or those of the named things)");
  exp->add_option("things", a.things, "Only these things (default: every shadow on the broker)")
      ->type_name("THING...");
  exp->add_option("--things", a.things_file,
                  "Only the things named in FILE, one per line ('-': stdin)")
      ->type_name("FILE");
  exp->add_option("-f,--file", a.out_file, "Write the backup to FILE (default: stdout)")
      ->type_name("FILE");
  exp->add_option("--page-size", a.page_size,
                  "Shadows per list request, 1-1000 (default: server's, 100); "
                  "with named things at most 100 are asked for")
      ->check(CLI::Range(1, 1000))
      ->type_name("N");
  exp->footer(R"x(Without thing names, every shadow (classic and named) of every thing is
exported, listed with GET /api/shadows: a mosquitto-shadow extension that
AWS IoT does not have. Naming things (arguments, or --things FILE with one
per line and # comments) limits the backup to them, found with
ListNamedShadowsForThing. Each output line is
{"thing":T,"shadow":null|NAME,"version":N,"state":{"desired":...,"reported":...}}.
A summary goes to stderr, with progress on a terminal.

Examples:
  shadowctl export --file backup.jsonl
  shadowctl export dev1 dev2 --file some.jsonl
  shadowctl export --things things.txt > backup.jsonl)x");

  // import
  CLI::App* imp = app.add_subcommand("import", "Restore shadows from an export file");
  imp->add_option("file", a.in_file, "JSON Lines file written by export ('-': stdin)")
      ->required()
      ->type_name("FILE");
  imp->add_flag("--replace", a.replace,
                "Delete each shadow first, so it ends up exactly as in the file "
                "(default: merge into what exists)");
  imp->footer(R"x(Each line is sent as an update {"state":{"desired":...,"reported":...}}. Bad
lines and failed updates are reported and skipped; the summary line says
"imported N shadows, M failed". Versions and timestamps are not restored:
the broker assigns new ones.

Examples:
  shadowctl import backup.jsonl
  shadowctl import --replace backup.jsonl)x");

  // rules
  CLI::App* rules = app.add_subcommand("rules", "Manage topic rules (the AWS IoT rules engine)");
  rules->require_subcommand(1);
  rules->footer(R"x(The same operations as aws iot create-topic-rule, get-topic-rule and the
others (docs/rules.md); requests are signed as the AWS CLI signs them.

Examples:
  shadowctl rules list
  shadowctl rules get hot_things
  shadowctl rules create hot_things --file rule.json
  shadowctl rules disable hot_things)x");
  auto add_rule_name = [out](CLI::App* cmd) {
    cmd->add_option("name", out->args.rule_name, "Rule name")->required()->type_name("NAME");
  };
  CLI::App* rules_list = rules->add_subcommand("list", "List the rules, all pages (ListTopicRules)");
  rules_list->add_option_function<std::string>(
      "--topic", [out](const std::string& s) { out->args.rule_topic = s; },
      "Only rules whose FROM filter is exactly TOPIC")
      ->type_name("TOPIC");
  auto* only_enabled = rules_list->add_flag_function(
      "--enabled", [out](int64_t) { out->args.rule_disabled = false; }, "Only enabled rules");
  rules_list->add_flag_function("--disabled", [out](int64_t) { out->args.rule_disabled = true; },
                                "Only disabled rules")
      ->excludes(only_enabled);
  rules_list->add_option("--page-size", a.page_size, "Rules per request, 1-10000 (default: server's, 1000)")
      ->check(CLI::Range(1, 10000))
      ->type_name("N");
  rules_list->footer(R"x(Prints one line per rule: name, enabled or disabled, and its FROM filter.
With --json: {"rules":[{"ruleName":...,"topicPattern":...,"ruleDisabled":...,...}]}.)x");
  CLI::App* rules_get = rules->add_subcommand("get", "Print a rule (GetTopicRule)");
  add_rule_name(rules_get);
  for (const char* verb : {"create", "replace"}) {
    bool create = verb == std::string("create");
    CLI::App* cmd = rules->add_subcommand(
        verb, create ? "Create a rule from a TopicRulePayload (CreateTopicRule)"
                     : "Replace a rule's definition (ReplaceTopicRule)");
    add_rule_name(cmd);
    cmd->add_option_function<std::string>(
           "-f,--file", [out](const std::string& s) { out->args.file = s; },
           "The TopicRulePayload JSON ('-': stdin)")
        ->required()
        ->type_name("FILE");
    cmd->footer(R"x(The file holds AWS's TopicRulePayload, as for aws iot create-topic-rule
--topic-rule-payload file://rule.json:
  {"sql": "SELECT * FROM 'my/things/+/update'", "awsIotSqlVersion": "2016-03-23",
   "actions": [{"republish": {"topic": "$$aws/things/${topic(3)}/shadow/update",
                              "roleArn": "arn:aws:iam::123456789012:role/unused"}}]})x");
  }
  for (const auto& [verb, help] : {std::pair{"delete", "Delete a rule (DeleteTopicRule)"},
                                   std::pair{"enable", "Enable a rule (EnableTopicRule)"},
                                   std::pair{"disable", "Disable a rule; it is kept but does not run (DisableTopicRule)"}}) {
    add_rule_name(rules->add_subcommand(verb, help));
  }

  // search
  CLI::App* search = app.add_subcommand(
      "search", "Find things by their shadows (aws iot search-index), or count them");
  search->add_option("query", a.query, "Fleet query, e.g. 'shadow.reported.temp > 95'")
      ->required()
      ->type_name("QUERY");
  search->add_option("--limit", a.limit, "Things shown at most; 0: every match (default 100)")
      ->check(CLI::Range(0, 100000000))
      ->type_name("N");
  search->add_option("--page-size", a.page_size, "Things per request, 1-500 (default: server's, 100)")
      ->check(CLI::Range(1, 500))
      ->type_name("N");
  search->add_option("--field", a.columns,
                     "Show this shadow field as a column (repeatable): reported.temp, desired.mode, "
                     "name.cfg.reported.x ...")
      ->type_name("PATH");
  auto* count = search->add_flag("--count", a.count_only, "Print only how many things match (get-statistics)");
  search->add_option("--stats", a.stats_field,
                     "Statistics of a numeric field over the matches (get-statistics): count, average, "
                     "sum, minimum, maximum, variance, standard deviation")
      ->type_name("FIELD")
      ->excludes(count);
  search->footer(R"x(The query language is AWS IoT fleet indexing's (docs/fleet.md): field:value,
wildcards, ranges [a TO b], comparisons, AND/OR/NOT. The table shows each
thing's classic shadow version, whether it has a delta, and its reported state
(or the --field columns). --json prints {"things":[{"thingName":...,"shadow":{...}}]}.

Examples:
  shadowctl search 'shadow.reported.temp > 95 AND thingName:line-7*'
  shadowctl search 'shadow.hasDelta:true' --field desired.fan --field reported.fan
  shadowctl search 'thingName:line-7*' --count
  shadowctl search '*' --stats shadow.reported.temp)x");

  // fleet-update
  CLI::App* fleet = app.add_subcommand(
      "fleet-update", "Set desired (or reported) state on every thing a query matches");
  fleet->add_option("-q,--query", a.query, "Fleet query choosing the things")->required()->type_name("QUERY");
  fleet->add_option_function<std::string>(
           "-d,--desired", [out](const std::string& s) { out->args.desired = s; },
           "JSON object merged into state.desired of each shadow")
      ->type_name("JSON");
  fleet->add_option_function<std::string>(
           "-r,--reported", [out](const std::string& s) { out->args.reported = s; },
           "JSON object merged into state.reported of each shadow")
      ->type_name("JSON");
  add_shadow_option(fleet, out);
  fleet->add_option("--id", a.operation_id,
                    "Operation id (letters, digits, - and _); running the same command again with "
                    "the same id follows the same operation instead of starting a new one")
      ->type_name("ID");
  fleet->add_flag("--no-wait", a.no_wait, "Start the operation, print its id and return");
  fleet->footer(R"x(Each matching thing gets one ordinary shadow update (its own version, accepted,
delta and documents messages, clientToken = the operation id), applied by the
broker a few shadows per loop pass. Shows a progress bar and a summary; Ctrl-C
cancels the operation. Exit status 8 when not every matching shadow was updated.

Examples:
  shadowctl fleet-update --query 'thingName:line-7* AND shadow.reported.fw:v1.2'       --desired '{"fw":"v1.3"}' --id fw-v13-line7
  shadowctl fleet-update --query 'shadow.name.cfg.reported.interval < 10' --shadow cfg       --desired '{"interval":10}' --no-wait)x");

  CLI::App* fleet_status = app.add_subcommand("fleet-status", "Show fleet updates and their progress");
  fleet_status->add_option("id", a.operation_id, "One operation (default: a table of all)")->type_name("ID");
  CLI::App* fleet_cancel = app.add_subcommand("fleet-cancel", "Stop a running fleet update");
  fleet_cancel->add_option("id", a.operation_id, "The operation")->required()->type_name("ID");

  // history
  CLI::App* history = app.add_subcommand(
      "history", "Show a shadow's last versions and what changed (plugin_opt_history_versions)");
  add_thing(history, out);
  add_shadow_option(history, out);
  history->add_option("--from-version", a.from_version, "Start at this version (default: the oldest kept)")
      ->check(CLI::Range(int64_t{1}, INT64_MAX))
      ->type_name("N");
  history->add_option("--limit", a.limit, "Versions shown at most; 0: all (default 100)")
      ->check(CLI::Range(0, 100000000))
      ->type_name("N");
  history->footer(R"x(One row per kept version: when, by which channel (mqtt, rest, fleet) and
identity (MQTT client id, REST access key, fleet operation), its clientToken and
what changed since the previous version (+added, path:old->new, -removed).
--json prints the entries as the broker keeps them.

Examples:
  shadowctl history dev1
  shadowctl history dev1 --shadow config --from-version 40)x");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 1;
  }

  for (CLI::App* sub : app.get_subcommands()) {
    out->command = sub->get_name();
    for (CLI::App* nested : sub->get_subcommands()) out->subcommand = nested->get_name();
  }
  out->args.from_stdin = stdin_marker == "-";
  return std::nullopt;
}

}  // namespace shadowctl
