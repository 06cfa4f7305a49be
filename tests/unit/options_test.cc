// parse_options: the plugin_opt_* lines of mosquitto.conf.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "plugin/options/options.h"

using shadow::EventTopics;
using shadow::plugin::describe;
using shadow::plugin::Option;
using shadow::plugin::parse_options;
using shadow::plugin::PluginConfig;

namespace {

PluginConfig parse_ok(const std::vector<Option>& options) {
  auto result = parse_options(options);
  if (!result.ok()) FAIL("unexpected error: " << result.status().message());
  return std::move(result).value();
}

std::string parse_error(const std::vector<Option>& options) {
  auto result = parse_options(options);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == shadow::Status::Code::kInvalidArgument);
  return result.status().message();
}

}  // namespace

TEST_CASE("plugin options: only db_path given, everything else defaults", "[plugin]") {
  PluginConfig c = parse_ok({{"db_path", "/var/lib/shadow"}});
  CHECK(c.db_path == "/var/lib/shadow");
  CHECK_FALSE(c.sync_writes);
  CHECK(c.block_cache_bytes == 32ull << 20);
  CHECK(c.engine.short_topics);
  CHECK(c.engine.event_topics == EventTopics::kBoth);
  CHECK(c.engine.max_document_bytes == 8192);
  CHECK(c.engine.max_depth == 6);
  CHECK(c.engine.max_payload_bytes == 131072);
  CHECK(c.engine.tombstone_retention_s == 172800);
}

TEST_CASE("plugin options: every option is applied", "[plugin]") {
  PluginConfig c = parse_ok({{"db_path", "data"},
                             {"sync_writes", "true"},
                             {"short_topics", "false"},
                             {"event_topics", "aws"},
                             {"max_document_bytes", "16384"},
                             {"max_depth", "8"},
                             {"max_payload_bytes", "262144"},
                             {"tombstone_retention_s", "0"},
                             {"block_cache_mb", "64"}});
  CHECK(c.db_path == "data");
  CHECK(c.sync_writes);
  CHECK_FALSE(c.engine.short_topics);
  CHECK(c.engine.event_topics == EventTopics::kAws);
  CHECK(c.engine.max_document_bytes == 16384);
  CHECK(c.engine.max_depth == 8);
  CHECK(c.engine.max_payload_bytes == 262144);
  CHECK(c.engine.tombstone_retention_s == 0);
  CHECK(c.block_cache_bytes == 64ull << 20);
}

TEST_CASE("plugin options: event_topics values", "[plugin]") {
  CHECK(parse_ok({{"db_path", "d"}, {"event_topics", "short"}}).engine.event_topics ==
        EventTopics::kShort);
  CHECK(parse_ok({{"db_path", "d"}, {"event_topics", "both"}}).engine.event_topics ==
        EventTopics::kBoth);
  std::string err = parse_error({{"db_path", "d"}, {"event_topics", "all"}});
  CHECK_THAT(err, Catch::Contains("plugin_opt_event_topics"));
  CHECK_THAT(err, Catch::Contains("both, aws or short"));
}

TEST_CASE("plugin options: surrounding whitespace is ignored", "[plugin]") {
  PluginConfig c = parse_ok({{"db_path", " /d "}, {"max_depth", "7 "}});
  CHECK(c.db_path == "/d");
  CHECK(c.engine.max_depth == 7);
}

TEST_CASE("plugin options: db_path is required", "[plugin]") {
  std::string err = parse_error({{"sync_writes", "true"}});
  CHECK_THAT(err, Catch::Contains("plugin_opt_db_path is required"));
  CHECK_THAT(parse_error({{"db_path", "  "}}), Catch::Contains("plugin_opt_db_path"));
}

TEST_CASE("plugin options: unknown option names the option and lists valid ones", "[plugin]") {
  std::string err = parse_error({{"db_path", "d"}, {"db_paht", "x"}});
  CHECK_THAT(err, Catch::Contains("unknown option plugin_opt_db_paht"));
  CHECK_THAT(err, Catch::Contains("tombstone_retention_s"));
}

TEST_CASE("plugin options: repeated option is rejected", "[plugin]") {
  std::string err = parse_error({{"db_path", "a"}, {"db_path", "b"}});
  CHECK_THAT(err, Catch::Contains("plugin_opt_db_path is given more than once"));
}

TEST_CASE("plugin options: booleans are exactly true or false", "[plugin]") {
  for (const char* bad : {"yes", "1", "TRUE", "on", ""}) {
    std::string err = parse_error({{"db_path", "d"}, {"sync_writes", bad}});
    CHECK_THAT(err, Catch::Contains("plugin_opt_sync_writes"));
    CHECK_THAT(err, Catch::Contains("true or false"));
  }
}

TEST_CASE("plugin options: integers are checked for syntax and range", "[plugin]") {
  struct Case {
    const char* key;
    const char* value;
  };
  for (Case bad : {Case{"max_depth", "0"}, Case{"max_depth", "65"}, Case{"max_depth", "-1"},
                   Case{"max_depth", "+3"}, Case{"max_depth", "6x"}, Case{"max_depth", "6 7"},
                   Case{"max_document_bytes", "0"}, Case{"max_payload_bytes", "268435456"},
                   Case{"tombstone_retention_s", "-5"}, Case{"block_cache_mb", "1.5"},
                   Case{"block_cache_mb", "99999999999999999999"}, Case{"history_versions", "1001"},
                   Case{"fleet_update_batch", "0"}, Case{"fleet_update_batch", "10001"}}) {
    INFO(bad.key << "=" << bad.value);
    std::string err = parse_error({{"db_path", "d"}, {bad.key, bad.value}});
    CHECK_THAT(err, Catch::Contains(std::string("plugin_opt_") + bad.key));
    CHECK_THAT(err, Catch::Contains("an integer from"));
  }
  // The bounds themselves are valid.
  CHECK(parse_ok({{"db_path", "d"}, {"max_depth", "64"}}).engine.max_depth == 64);
  CHECK(parse_ok({{"db_path", "d"}, {"max_payload_bytes", "268435455"}}).engine.max_payload_bytes ==
        268435455);
  CHECK(parse_ok({{"db_path", "d"}, {"block_cache_mb", "0"}}).block_cache_bytes == 0);
  CHECK(parse_ok({{"db_path", "d"}, {"history_versions", "1000"}}).engine.history_versions == 1000);
  CHECK(parse_ok({{"db_path", "d"}, {"fleet_update_batch", "1"}}).fleet_update_batch == 1);
}

TEST_CASE("plugin options: wal_recovery is strict unless point_in_time is asked for", "[plugin]") {
  CHECK_FALSE(parse_ok({{"db_path", "d"}}).wal_point_in_time);
  CHECK_FALSE(parse_ok({{"db_path", "d"}, {"wal_recovery", "strict"}}).wal_point_in_time);
  PluginConfig pit = parse_ok({{"db_path", "d"}, {"wal_recovery", "point_in_time"}});
  CHECK(pit.wal_point_in_time);
  CHECK_THAT(describe(pit), Catch::Contains("wal_recovery=point_in_time"));
  for (const char* bad : {"", "pit", "Strict", "point-in-time", "true"}) {
    std::string err = parse_error({{"db_path", "d"}, {"wal_recovery", bad}});
    CHECK_THAT(err, Catch::Contains("plugin_opt_wal_recovery") && Catch::Contains("strict or point_in_time"));
  }
}

TEST_CASE("plugin options: short events need short topics", "[plugin]") {
  std::string err =
      parse_error({{"db_path", "d"}, {"short_topics", "false"}, {"event_topics", "short"}});
  CHECK_THAT(err, Catch::Contains("plugin_opt_short_topics"));
  CHECK(parse_ok({{"db_path", "d"}, {"short_topics", "false"}}).engine.event_topics ==
        EventTopics::kBoth);
}

TEST_CASE("plugin options: describe lists every option in effect", "[plugin]") {
  std::string s = describe(parse_ok({{"db_path", "/d"}, {"sync_writes", "true"},
                                     {"event_topics", "short"}, {"block_cache_mb", "8"}}));
  CHECK(s ==
        "db_path=/d sync_writes=true short_topics=true event_topics=short "
        "max_document_bytes=8192 max_depth=6 max_payload_bytes=131072 "
        "tombstone_retention_s=172800 block_cache_mb=8 wal_recovery=strict history_versions=0 "
        "fleet_update_batch=50 tombstone_bumps_version=true "
        "delta_on_unchanged=true error_timestamp=false reserved_shadow_names=false "
        "rest_update_publishes_accepted=true rest_delete_publishes_accepted=true "
        "rest_not_found_thing_tilde_shadow=true documents_previous=null http_listen=off "
        "thing_identity=none acl_check=off rate_limit_per_thing=0 rules=true rules_http_allow=none "
        "rules_http_queue=1000 rules_http_workers=2 rules_account_id=000000000000 rules_region=us-east-1");
}

TEST_CASE("plugin options: the unverified-behaviour choices are switchable", "[plugin]") {
  PluginConfig defaults = parse_ok({{"db_path", "d"}});
  CHECK(defaults.engine.tombstone_bumps_version);
  CHECK(defaults.engine.delta_on_unchanged);
  CHECK(defaults.engine.documents_previous_null);
  CHECK_FALSE(defaults.engine.error_timestamp);
  CHECK_FALSE(defaults.engine.reserved_shadow_names);

  PluginConfig c = parse_ok({{"db_path", "d"},
                             {"tombstone_bumps_version", "false"},
                             {"delta_on_unchanged", "false"},
                             {"documents_previous", "omit"},
                             {"error_timestamp", "true"},
                             {"reserved_shadow_names", "true"},
                             {"invalid_json_message", "Invalid JSON"},
                             {"null_in_array_message", "Arrays may not contain null"}});
  CHECK_FALSE(c.engine.tombstone_bumps_version);
  CHECK_FALSE(c.engine.delta_on_unchanged);
  CHECK_FALSE(c.engine.documents_previous_null);
  CHECK(c.engine.error_timestamp);
  CHECK(c.engine.reserved_shadow_names);
  CHECK(c.engine.invalid_json_message == "Invalid JSON");
  CHECK(c.engine.null_in_array_message == "Arrays may not contain null");
  std::string text = describe(c);
  CHECK(text.find("tombstone_bumps_version=false") != std::string::npos);
  CHECK(text.find("documents_previous=omit") != std::string::npos);

  CHECK(parse_error({{"db_path", "d"}, {"delta_on_unchanged", "yes"}}).find("plugin_opt_delta_on_unchanged") == 0);
  CHECK(parse_error({{"db_path", "d"}, {"documents_previous", "none"}}).find("null or omit") != std::string::npos);
  CHECK(parse_error({{"db_path", "d"}, {"invalid_json_message", ""}}).find("non-empty") != std::string::npos);
}

TEST_CASE("plugin options: the REST publication choices map to the engine", "[plugin]") {
  PluginConfig defaults = parse_ok({{"db_path", "d"}});
  CHECK(defaults.engine.rest_update_publishes_accepted);
  CHECK(defaults.engine.rest_delete_publishes_accepted);
  CHECK(defaults.engine.rest_not_found_thing_tilde_shadow);
  PluginConfig c = parse_ok({{"db_path", "d"},
                             {"rest_update_publishes_accepted", "false"},
                             {"rest_delete_publishes_accepted", "false"},
                             {"rest_not_found_thing_tilde_shadow", "false"}});
  CHECK_FALSE(c.engine.rest_update_publishes_accepted);
  CHECK_FALSE(c.engine.rest_delete_publishes_accepted);
  CHECK_FALSE(c.engine.rest_not_found_thing_tilde_shadow);
  CHECK(parse_error({{"db_path", "d"}, {"rest_update_publishes_accepted", "on"}})
            .find("true or false") != std::string::npos);
}

TEST_CASE("plugin options: the HTTP listener is off by default", "[plugin][rest]") {
  PluginConfig c = parse_ok({{"db_path", "d"}});
  CHECK_FALSE(c.http.enabled());
  CHECK(c.http.auth_sigv4);
  CHECK(c.http.threads == 64);
  CHECK(c.http.metrics_auth);
  CHECK_FALSE(c.http.tls());
  // Without http_listen the credentials file is not needed.
  CHECK_FALSE(parse_ok({{"db_path", "d"}, {"http_auth", "sigv4"}}).http.enabled());
}

TEST_CASE("plugin options: http_listen takes host:port", "[plugin][rest]") {
  PluginConfig c = parse_ok({{"db_path", "d"}, {"http_listen", "127.0.0.1:8080"},
                             {"http_credentials_file", "/etc/creds"}});
  CHECK(c.http.enabled());
  CHECK(c.http.host == "127.0.0.1");
  CHECK(c.http.port == 8080);
  CHECK(c.http.credentials_file == "/etc/creds");

  PluginConfig v6 = parse_ok({{"db_path", "d"}, {"http_listen", "[::1]:443"}, {"http_auth", "none"}});
  CHECK(v6.http.host == "::1");
  CHECK(v6.http.port == 443);
  CHECK_FALSE(v6.http.auth_sigv4);
  CHECK(describe(v6).find("http_listen=[::1]:443 http_auth=none") != std::string::npos);

  for (const char* bad : {"8080", ":8080", "localhost", "localhost:", "localhost:0",
                          "localhost:65536", "localhost:80x", "::1:8080", "[::1]8080",
                          "[]:80", "a b:80", "host:-1"}) {
    INFO(bad);
    std::string e = parse_error({{"db_path", "d"}, {"http_listen", bad}, {"http_auth", "none"}});
    CHECK(e.find("plugin_opt_http_listen") != std::string::npos);
    CHECK(e.find("host:port") != std::string::npos);
  }
}

TEST_CASE("plugin options: sigv4 needs a credentials file", "[plugin][rest]") {
  std::string e = parse_error({{"db_path", "d"}, {"http_listen", "127.0.0.1:8080"}});
  CHECK(e.find("plugin_opt_http_credentials_file is required") != std::string::npos);
  e = parse_error({{"db_path", "d"}, {"http_listen", "127.0.0.1:8080"}, {"http_auth", "sigv4"}});
  CHECK(e.find("plugin_opt_http_credentials_file is required") != std::string::npos);
  // auth none needs none, but a file given anyway is accepted (and unused).
  CHECK(parse_ok({{"db_path", "d"}, {"http_listen", "127.0.0.1:8080"}, {"http_auth", "none"},
                  {"http_credentials_file", "/c"}})
            .http.enabled());
  CHECK(parse_error({{"db_path", "d"}, {"http_auth", "aws"}}).find("sigv4 or none") !=
        std::string::npos);
  CHECK(parse_error({{"db_path", "d"}, {"http_credentials_file", ""}}).find("a file path") !=
        std::string::npos);
}

TEST_CASE("plugin options: TLS needs both certificate and key", "[plugin][rest]") {
  PluginConfig c = parse_ok({{"db_path", "d"}, {"http_listen", "0.0.0.0:8443"},
                             {"http_auth", "none"}, {"http_tls_cert", "/c.pem"},
                             {"http_tls_key", "/k.pem"}});
  CHECK(c.http.tls());
  CHECK(c.http.tls_cert == "/c.pem");
  CHECK(c.http.tls_key == "/k.pem");
  for (const char* only : {"http_tls_cert", "http_tls_key"}) {
    std::string e = parse_error({{"db_path", "d"}, {only, "/x.pem"}});
    CHECK(e.find("go together") != std::string::npos);
  }
}

TEST_CASE("plugin options: http_threads and http_metrics_auth", "[plugin][rest]") {
  PluginConfig c = parse_ok({{"db_path", "d"}, {"http_threads", "16"},
                             {"http_metrics_auth", "false"}});
  CHECK(c.http.threads == 16);
  CHECK_FALSE(c.http.metrics_auth);
  for (const char* bad : {"0", "257", "-1", "four"}) {
    INFO(bad);
    CHECK(parse_error({{"db_path", "d"}, {"http_threads", bad}}).find("1 to 256") !=
          std::string::npos);
  }
}

TEST_CASE("plugin options: the HTTP server's limits", "[plugin][rest]") {
  PluginConfig defaults = parse_ok({{"db_path", "d"}});
  CHECK(defaults.http.max_header_bytes == 16384);
  CHECK(defaults.http.max_connections == 512);
  CHECK(defaults.http.max_connections_per_ip == 64);
  CHECK(defaults.http.head_timeout_s == 10);

  PluginConfig c = parse_ok({{"db_path", "d"}, {"http_listen", "127.0.0.1:8080"},
                             {"http_auth", "none"}, {"http_max_header_bytes", "8192"},
                             {"http_max_connections", "4096"},
                             {"http_max_connections_per_ip", "0"},
                             {"http_head_timeout_s", "30"}});
  CHECK(c.http.max_header_bytes == 8192);
  CHECK(c.http.max_connections == 4096);
  CHECK(c.http.max_connections_per_ip == 0);
  CHECK(c.http.head_timeout_s == 30);
  std::string d = describe(c);
  CHECK(d.find("http_max_header_bytes=8192 http_max_connections=4096 "
               "http_max_connections_per_ip=0 http_head_timeout_s=30") != std::string::npos);

  struct Bad {
    const char* key;
    const char* value;
    const char* expected;
  };
  for (const Bad& b : {Bad{"http_max_header_bytes", "1023", "1024 to 1048576"},
                       Bad{"http_max_header_bytes", "16k", "1024 to 1048576"},
                       Bad{"http_max_connections", "0", "1 to 1000000"},
                       Bad{"http_max_connections_per_ip", "-1", "0 to 1000000"},
                       Bad{"http_head_timeout_s", "0", "1 to 3600"},
                       Bad{"http_head_timeout_s", "3601", "1 to 3600"}}) {
    INFO(b.key << " " << b.value);
    std::string e = parse_error({{"db_path", "d"}, {b.key, b.value}});
    CHECK(e.find(std::string("plugin_opt_") + b.key) != std::string::npos);
    CHECK(e.find(b.expected) != std::string::npos);
  }
}

TEST_CASE("plugin options: the authorization options", "[plugin][authz]") {
  using shadow::plugin::AclFallback;
  using shadow::plugin::IdentitySource;
  PluginConfig c = parse_ok({{"db_path", "/d"},
                             {"thing_identity", "cert_cn"},
                             {"admin_usernames", "console, ops ,app"},
                             {"admin_pattern", "app-*"},
                             {"acl_fallback", "allow"},
                             {"rate_limit_per_thing", "20"}});
  CHECK(c.authz.identity == IdentitySource::kCertCn);
  CHECK(c.authz.admin_usernames == std::vector<std::string>{"console", "ops", "app"});
  CHECK(c.authz.admin_pattern == "app-*");
  CHECK(c.authz.fallback == AclFallback::kAllow);
  CHECK(c.authz.fallback_given);
  CHECK(c.authz.rate_limit_per_thing == 20);
  std::string d = describe(c);
  CHECK(d.find("thing_identity=cert_cn") != std::string::npos);
  CHECK(d.find("admin_usernames=console,ops,app") != std::string::npos);
  CHECK(d.find("acl_fallback=allow") != std::string::npos);
  CHECK(d.find("rate_limit_per_thing=20") != std::string::npos);

  PluginConfig defaults = parse_ok({{"db_path", "/d"}});
  CHECK_FALSE(defaults.authz.fallback_given);
  CHECK(defaults.authz.fallback == AclFallback::kDefer);

  CHECK(parse_error({{"db_path", "/d"}, {"thing_identity", "cn"}})
            .find("none, client_id, username or cert_cn") != std::string::npos);
  for (const char* bad : {"a,,b", ""}) {
    INFO(bad);
    CHECK(parse_error({{"db_path", "/d"}, {"thing_identity", "username"}, {"admin_usernames", bad}})
              .find("plugin_opt_admin_usernames") != std::string::npos);
  }
  // '*' alone would make everyone an admin.
  CHECK(parse_error({{"db_path", "/d"}, {"thing_identity", "username"}, {"admin_pattern", "*"}})
            .find("plugin_opt_admin_pattern") != std::string::npos);
  CHECK(parse_error({{"db_path", "/d"}, {"acl_fallback", "yes"}}).find("plugin_opt_acl_fallback") !=
        std::string::npos);
  for (const char* bad : {"-1", "2000000", "5/s"}) {
    INFO(bad);
    CHECK(parse_error({{"db_path", "/d"}, {"rate_limit_per_thing", bad}})
              .find("plugin_opt_rate_limit_per_thing") != std::string::npos);
  }
}

TEST_CASE("authz: options through parse_options", "[plugin][authz]") {
  auto ok = parse_options({{"db_path", "/d"}, {"thing_identity", "username"},
                           {"admin_usernames", "console"}, {"rate_limit_per_thing", "20"}});
  REQUIRE(ok.ok());
  const shadow::plugin::AuthzConfig& a = ok->authz;
  CHECK(a.identity == shadow::plugin::IdentitySource::kUsername);
  CHECK(a.admin_usernames == std::vector<std::string>{"console"});
  CHECK(a.rate_limit_per_thing == 20);
  CHECK(a.fallback == shadow::plugin::AclFallback::kDefer);  // the default

  // Admins without binding are a configuration mistake, not a silent no-op.
  auto err = parse_options({{"db_path", "/d"}, {"admin_pattern", "app-*"}});
  REQUIRE_FALSE(err.ok());
  CHECK(err.status().message().find("plugin_opt_thing_identity") != std::string::npos);
  auto bad = parse_options({{"db_path", "/d"}, {"thing_identity", "certificate"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("plugin_opt_thing_identity") != std::string::npos);
}

TEST_CASE("plugin options: the rules engine's options", "[plugin][rules]") {
  PluginConfig d = parse_ok({{"db_path", "d"}});
  CHECK(d.rules.enabled);
  CHECK(d.rules.file.empty());
  CHECK(d.rules.http_queue == 1000);
  CHECK(d.rules.http_workers == 2);
  CHECK(d.rules.account_id == "000000000000");
  CHECK(d.rules.region == "us-east-1");
  CHECK(describe(d).find("rules=true") != std::string::npos);

  PluginConfig c = parse_ok({{"db_path", "d"},
                             {"rules_file", "/etc/mosquitto/rules.d"},
                             {"rules_http_allow", "127.0.0.1:8080"},
                             {"rules_http_queue", "5"},
                             {"rules_http_workers", "4"},
                             {"rules_account_id", "123456789012"},
                             {"rules_region", "eu-west-1"}});
  CHECK(c.rules.file == "/etc/mosquitto/rules.d");
  CHECK(c.rules.http_allow == "127.0.0.1:8080");
  CHECK(c.rules.http_queue == 5);
  CHECK(c.rules.http_workers == 4);
  CHECK(c.rules.account_id == "123456789012");
  CHECK(c.rules.region == "eu-west-1");
  CHECK_FALSE(parse_ok({{"db_path", "d"}, {"rules", "false"}}).rules.enabled);
  CHECK(describe(parse_ok({{"db_path", "d"}, {"rules", "false"}})).find("rules=false") != std::string::npos);

  CHECK(parse_error({{"db_path", "d"}, {"rules", "yes"}}).find("plugin_opt_rules") != std::string::npos);
  CHECK(parse_error({{"db_path", "d"}, {"rules_http_queue", "0"}}).find("1 to 1000000") != std::string::npos);
  CHECK(parse_error({{"db_path", "d"}, {"rules_http_workers", "65"}}).find("1 to 64") != std::string::npos);
  CHECK(parse_error({{"db_path", "d"}, {"rules_account_id", "12345"}}).find("12 digits") != std::string::npos);
  CHECK(parse_error({{"db_path", "d"}, {"rules_region", "EU"}}).find("region") != std::string::npos);
  CHECK(parse_error({{"db_path", "d"}, {"rules_bogus", "1"}}).find("unknown option plugin_opt_rules_bogus") !=
        std::string::npos);
}

TEST_CASE("plugin options: store redis-cluster and its options", "[plugin][cluster]") {
  using shadow::plugin::StoreKind;
  const std::vector<Option> base = {{"store", "redis-cluster"},
                                    {"redis_nodes", "10.0.0.1:6379, 10.0.0.2:6379"},
                                    {"acl_fallback", "allow"}};
  PluginConfig c = parse_ok(base);
  CHECK(c.store == StoreKind::kRedisCluster);
  CHECK(c.db_path.empty());  // not needed
  CHECK(c.redis.nodes == "10.0.0.1:6379, 10.0.0.2:6379");
  CHECK(c.redis.wait_replicas == 1);
  CHECK(c.redis.wait_timeout_ms == 500);
  CHECK(c.redis.command_timeout_ms == 2000);
  CHECK(c.redis.request_timeout_ms == 5000);
  CHECK(c.redis.connect_timeout_ms == 1000);
  CHECK(c.redis.workers == 16);
  CHECK_FALSE(c.redis.tls);
  CHECK(describe(c).find("store=redis-cluster redis_nodes=10.0.0.1:6379, 10.0.0.2:6379 redis_tls=false") == 0);

  std::vector<Option> all = base;
  all.insert(all.end(), {{"redis_password_file", "/etc/shadow/redis.pass"},
                         {"redis_user", "shadow"},
                         {"redis_tls", "true"},
                         {"redis_tls_ca_file", "/ca.crt"},
                         {"redis_tls_cert_file", "/c.crt"},
                         {"redis_tls_key_file", "/c.key"},
                         {"redis_tls_server_name", "redis.internal"},
                         {"redis_connect_timeout_ms", "300"},
                         {"redis_command_timeout_ms", "900"},
                         {"redis_request_timeout_ms", "8000"},
                         {"redis_wait_replicas", "2"},
                         {"redis_wait_timeout_ms", "800"},
                         {"redis_key_prefix", "prod:"},
                         {"redis_workers", "4"}});
  c = parse_ok(all);
  CHECK(c.redis.password_file == "/etc/shadow/redis.pass");
  CHECK(c.redis.user == "shadow");
  CHECK(c.redis.tls);
  CHECK(c.redis.tls_ca_file == "/ca.crt");
  CHECK(c.redis.tls_cert_file == "/c.crt");
  CHECK(c.redis.tls_key_file == "/c.key");
  CHECK(c.redis.tls_server_name == "redis.internal");
  CHECK(c.redis.connect_timeout_ms == 300);
  CHECK(c.redis.command_timeout_ms == 900);
  CHECK(c.redis.request_timeout_ms == 8000);
  CHECK(c.redis.wait_replicas == 2);
  CHECK(c.redis.wait_timeout_ms == 800);
  CHECK(c.redis.key_prefix == "prod:");
  CHECK(c.redis.workers == 4);
  std::string d = describe(c);
  CHECK(d.find("redis_wait_replicas=2 redis_wait_timeout_ms=800 redis_key_prefix=prod: redis_workers=4") !=
        std::string::npos);
  CHECK(d.find("block_cache_mb") == std::string::npos);

  // The rocksdb store stays the default, with db_path required.
  CHECK(parse_ok({{"db_path", "d"}, {"store", "rocksdb"}}).store == StoreKind::kRocksDb);
  CHECK(parse_error({{"store", "rocksdb"}}).find("plugin_opt_db_path is required") == 0);
  CHECK(parse_error({{"db_path", "d"}, {"store", "redis"}}).find("rocksdb or redis-cluster") != std::string::npos);
}

TEST_CASE("plugin options: what redis-cluster refuses", "[plugin][cluster]") {
  const std::vector<Option> base = {{"store", "redis-cluster"}, {"redis_nodes", "127.0.0.1:7001"},
                                    {"acl_fallback", "defer"}};
  auto with = [&](std::vector<Option> extra) {
    std::vector<Option> o = base;
    o.insert(o.end(), extra.begin(), extra.end());
    return o;
  };
  CHECK_THAT(parse_error({{"store", "redis-cluster"}, {"acl_fallback", "allow"}}),
             Catch::Contains("plugin_opt_redis_nodes is required"));
  CHECK_THAT(parse_error(with({{"db_path", "/d"}})), Catch::Contains("plugin_opt_db_path is for the rocksdb store"));
  CHECK_THAT(parse_error(with({{"wal_recovery", "point_in_time"}})),
             Catch::Contains("plugin_opt_wal_recovery is for the rocksdb store"));
  CHECK_THAT(parse_error(with({{"block_cache_mb", "8"}})), Catch::Contains("plugin_opt_block_cache_mb is for"));
  std::string sync = parse_error(with({{"sync_writes", "true"}}));
  CHECK_THAT(sync, Catch::Contains("plugin_opt_sync_writes"));
  CHECK_THAT(sync, Catch::Contains("plugin_opt_redis_wait_replicas"));
  CHECK(parse_ok(with({{"sync_writes", "false"}})).store == shadow::plugin::StoreKind::kRedisCluster);
  // Presence records are one broker's view.
  for (Option presence : std::vector<Option>{{"lifecycle_events", "true"},
                                             {"presence_field", "connected"},
                                             {"delta_on_subscribe", "true"},
                                             {"connect_detection", "connect"},
                                             {"clear_desired_on_match", "true"}}) {
    INFO(presence.first);
    CHECK_THAT(parse_error(with({presence})), Catch::Contains("not available with plugin_opt_store redis-cluster"));
  }
  CHECK_THAT(parse_error(with({{"history_versions", "5"}})),
             Catch::Contains("not available with plugin_opt_store redis-cluster"));
  // Interest tracking needs the ACL callback.
  CHECK_THAT(parse_error({{"store", "redis-cluster"}, {"redis_nodes", "127.0.0.1:7001"}}),
             Catch::Contains("plugin_opt_acl_fallback"));
  CHECK(parse_ok({{"store", "redis-cluster"}, {"redis_nodes", "127.0.0.1:7001"}, {"thing_identity", "username"}})
            .authz.binding());
  // TLS.
  CHECK_THAT(parse_error(with({{"redis_tls_ca_file", "/ca"}})), Catch::Contains("need plugin_opt_redis_tls true"));
  CHECK_THAT(parse_error(with({{"redis_tls", "true"}})), Catch::Contains("plugin_opt_redis_tls_ca_file"));
  CHECK_THAT(parse_error(with({{"redis_tls", "true"}, {"redis_tls_ca_file", "/ca"}, {"redis_tls_cert_file", "/c"}})),
             Catch::Contains("go together"));
  // The command timeout covers a WAIT.
  CHECK_THAT(parse_error(with({{"redis_wait_timeout_ms", "2000"}})),
             Catch::Contains("plugin_opt_redis_command_timeout_ms (2000) must be longer"));
  CHECK(parse_ok(with({{"redis_wait_timeout_ms", "2000"}, {"redis_wait_replicas", "0"}})).redis.wait_replicas == 0);
  // Bad values.
  for (const char* bad : {"", "host", "host:0", "a:1,,b:2", "host:99999"}) {
    INFO(bad);
    CHECK_THAT(parse_error(with({{"redis_nodes", bad}})), Catch::Contains("plugin_opt_redis_nodes"));
  }
  CHECK_THAT(parse_error(with({{"redis_key_prefix", "a{b}"}})), Catch::Contains("without braces"));
  CHECK_THAT(parse_error(with({{"redis_wait_replicas", "17"}})), Catch::Contains("0 to 16"));
  CHECK_THAT(parse_error(with({{"redis_workers", "0"}})), Catch::Contains("1 to 1024"));
  CHECK_THAT(parse_error(with({{"redis_tls", "yes"}})), Catch::Contains("true or false"));
  CHECK_THAT(parse_error(with({{"redis_connect_timeout_ms", "0"}})), Catch::Contains("plugin_opt_redis_connect"));
  // redis_* options are refused with the rocksdb store rather than ignored.
  CHECK_THAT(parse_error({{"db_path", "d"}, {"redis_nodes", "127.0.0.1:7001"}}),
             Catch::Contains("plugin_opt_redis_nodes applies only to plugin_opt_store redis-cluster"));
  CHECK_THAT(parse_error({{"db_path", "d"}, {"redis_wait_replicas", "1"}}), Catch::Contains("applies only"));
}
