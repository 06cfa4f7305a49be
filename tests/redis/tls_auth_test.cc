// RedisStore against a cluster that speaks only TLS and requires a password
// (with-cluster.sh --tls --password): the store works, and every wrong
// setting gives an error that says what to fix. Run through with-cluster.sh
// (ctest label redis-cluster).
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "contract/store_contract.h"
#include "store/redis/redis_store.h"
#include "test_cluster.h"

namespace shadow {
namespace {

using redis_test::TestCluster;

TestCluster& cluster() { return TestCluster::get(); }

// Store options with TLS and the password given as plain settings, the way
// the plugin will pass them.
RedisStoreOptions tls_options() {
  RedisStoreOptions o = cluster().store_options();
  o.cluster.connection.tls.reset();
  o.cluster.tls.enabled = true;
  o.cluster.tls.ca_file = cluster().tls_dir() + "/ca.crt";
  o.cluster.tls.cert_file = cluster().tls_dir() + "/client.crt";
  o.cluster.tls.key_file = cluster().tls_dir() + "/client.key";
  auto pw = read_password_file(cluster().password_file());
  REQUIRE(pw.ok());
  o.cluster.connection.password = pw.value();
  o.cluster.request_timeout = std::chrono::milliseconds(1500);
  return o;
}

// The message of the first failure of a get through a store with `o`.
std::string get_error(const RedisStoreOptions& o) {
  auto store = RedisStore::open(o);
  if (!store.ok()) return "open: " + store.status().message();
  ShadowRecord r;
  Status g = store.value()->get({"t", ""}, &r);
  CHECK(g.code() == Status::Code::kUnavailable);
  return g.message();
}

}  // namespace

TEST_CASE("redis tls: the store works over TLS with a password", "[tls]") {
  REQUIRE_FALSE(cluster().tls_dir().empty());
  REQUIRE_FALSE(cluster().password_file().empty());
  RedisStoreOptions o = tls_options();
  o.cluster.request_timeout = std::chrono::milliseconds(15000);
  auto store = cluster().open_store(o);
  Status h = store->health();
  INFO(h.message());
  REQUIRE(h.is_ok());
  store_contract::get_and_compare_and_set(*store);
  store_contract::list_named_order_and_pages(*store);
  store_contract::concurrent_compare_and_set(*store, 3, 50);
}

TEST_CASE("redis tls: wrong settings give errors that say what to fix", "[tls]") {
  RedisStoreOptions o = tls_options();

  SECTION("wrong password") {
    o.cluster.connection.password = "not-the-password";
    CHECK_THAT(get_error(o), Catch::Contains("refused the credentials") && Catch::Contains("password file") &&
                                 !Catch::Contains("not-the-password"));
  }
  SECTION("no password") {
    o.cluster.connection.password.clear();
    CHECK_THAT(get_error(o), Catch::Contains("NOAUTH"));
  }
  SECTION("plain TCP to a TLS port") {
    o.cluster.tls.enabled = false;
    CHECK_THAT(get_error(o), Catch::Contains("does this node require TLS?"));
  }
  SECTION("no client certificate") {
    o.cluster.tls.cert_file.clear();
    o.cluster.tls.key_file.clear();
    CHECK_THAT(get_error(o), Catch::Contains("TLS") || Catch::Contains("closed the connection"));
  }
  SECTION("a certificate name that does not match") {
    o.cluster.tls.server_name = "redis.wrong.example";
    CHECK_THAT(get_error(o), Catch::Contains("certificate not accepted") && Catch::Contains("redis.wrong.example"));
  }
  SECTION("a CA that did not sign the nodes") {
    char tmpl[] = "/tmp/shadow-other-ca.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    std::string gen = std::filesystem::path(getenv("SHADOW_REDIS_SCRIPT")).parent_path().string() + "/gen-certs.sh";
    REQUIRE(system((gen + " " + tmpl + " >/dev/null 2>&1").c_str()) == 0);
    o.cluster.tls.ca_file = std::string(tmpl) + "/ca.crt";
    CHECK_THAT(get_error(o), Catch::Contains("certificate not accepted") && Catch::Contains("CA"));
    std::filesystem::remove_all(tmpl);
  }
  SECTION("unreadable TLS files fail at open") {
    o.cluster.tls.ca_file = "/nonexistent/ca.crt";
    CHECK_THAT(get_error(o), Catch::StartsWith("open: ") && Catch::Contains("/nonexistent/ca.crt"));
    o = tls_options();
    o.cluster.tls.key_file = cluster().tls_dir() + "/ca.crt";  // not a key
    CHECK_THAT(get_error(o), Catch::StartsWith("open: ") && Catch::Contains("key"));
    o = tls_options();
    o.cluster.tls.ca_file.clear();
    CHECK_THAT(get_error(o), Catch::StartsWith("open: ") && Catch::Contains("CA file"));
  }
}

}  // namespace shadow
