#include "test_cluster.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

namespace shadow::redis_test {

namespace {

std::string env(const char* name) {
  const char* v = getenv(name);
  return v ? v : "";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

TestCluster& TestCluster::get() {
  static TestCluster* cluster = [] {
    auto* c = new TestCluster();
    std::string nodes = env("SHADOW_REDIS_NODES");
    if (nodes.empty()) FAIL("SHADOW_REDIS_NODES is not set: run this binary through tests/redis/with-cluster.sh");
    auto parsed = redis::parse_node_list(nodes);
    REQUIRE(parsed.ok());
    c->nodes_ = parsed.value();
    for (const auto& n : c->nodes_) c->ports_.push_back(n.port);
    c->dir_ = env("SHADOW_REDIS_DIR");
    c->script_ = env("SHADOW_REDIS_SCRIPT");
    c->tls_dir_ = env("SHADOW_REDIS_TLS_DIR");
    c->password_file_ = env("SHADOW_REDIS_PASSWORD_FILE");
    if (!c->password_file_.empty()) {
      auto pw = read_password_file(c->password_file_);
      REQUIRE(pw.ok());
      c->password_ = pw.value();
    }
    if (!c->tls_dir_.empty()) {
      redis::TlsOptions t;
      t.enabled = true;
      t.ca_file = c->tls_dir_ + "/ca.crt";
      t.cert_file = c->tls_dir_ + "/client.crt";
      t.key_file = c->tls_dir_ + "/client.key";
      auto ctx = redis::TlsContext::create(t);
      REQUIRE(ctx.ok());
      c->tls_ = ctx.value();
    }
    return c;
  }();
  return *cluster;
}

redis::ConnectionOptions TestCluster::connection_options() const {
  redis::ConnectionOptions o;
  o.password = password_;
  o.tls = tls_;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.command_timeout = std::chrono::milliseconds(10000);
  return o;
}

RedisStoreOptions TestCluster::store_options() const {
  static std::atomic<int> counter{0};
  RedisStoreOptions o;
  o.cluster.seeds = nodes_;
  o.cluster.connection = connection_options();
  o.cluster.connection.command_timeout = std::chrono::milliseconds(3000);
  o.cluster.request_timeout = std::chrono::milliseconds(15000);
  o.key_prefix = "t" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ":";
  return o;
}

std::unique_ptr<RedisStore> TestCluster::open_store(const RedisStoreOptions& options) const {
  auto store = RedisStore::open(options);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(store).value();
}

redis::Reply TestCluster::command(int port, const redis::Command& command) const {
  auto deadline = redis::Clock::now() + std::chrono::seconds(15);
  auto c = redis::Connection::open({"127.0.0.1", port}, connection_options(), deadline);
  if (!c.ok()) return redis::Reply::error("CONNECTION " + c.status().message());
  std::vector<redis::Reply> replies;
  bool sent = false;
  Status s = c.value()->run({command}, &replies, deadline, &sent);
  if (!s.is_ok()) return redis::Reply::error("CONNECTION " + s.message());
  return replies[0];
}

int TestCluster::cli_cluster(const std::vector<std::string>& args, std::string* output) const {
  std::string cmd = "timeout 120 redis-cli";
  if (!tls_dir_.empty())
    cmd += " --tls --cacert " + shell_quote(tls_dir_ + "/ca.crt") + " --cert " +
           shell_quote(tls_dir_ + "/client.crt") + " --key " + shell_quote(tls_dir_ + "/client.key");
  if (!password_.empty()) cmd += " --no-auth-warning -a " + shell_quote(password_);
  cmd += " --cluster";
  for (const std::string& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>&1 </dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  output->clear();
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int TestCluster::master_of_slot(int slot) const {
  for (int port : ports_) {
    redis::Reply r = command(port, {"CLUSTER", "SLOTS"});
    auto ranges = redis::parse_cluster_slots(r, "127.0.0.1");
    if (!ranges.ok()) continue;
    for (const auto& range : ranges.value())
      if (slot >= range.first && slot <= range.last) return range.master.port;
    return 0;
  }
  return 0;
}

int TestCluster::replica_of(int master_port) const {
  redis::Reply r = command(master_port, {"INFO", "replication"});
  std::istringstream lines(r.str);
  std::string line;
  while (std::getline(lines, line)) {
    // slave0:ip=127.0.0.1,port=27005,state=online,offset=123,lag=0
    if (line.rfind("slave", 0) != 0 || line.find("state=online") == std::string::npos) continue;
    size_t p = line.find("port=");
    if (p != std::string::npos) return atoi(line.c_str() + p + 5);
  }
  return 0;
}

std::string TestCluster::node_id(int port) const { return command(port, {"CLUSTER", "MYID"}).str; }

bool TestCluster::is_master(int port) const {
  redis::Reply r = command(port, {"ROLE"});
  return r.type == redis::Reply::Type::kArray && !r.elements.empty() && r.elements[0].str == "master";
}

pid_t TestCluster::pid_of(int port) const {
  std::ifstream f(dir_ + "/" + std::to_string(port) + "/redis.pid");
  pid_t pid = 0;
  if (!(f >> pid) || pid <= 0 || kill(pid, 0) != 0) return 0;
  return pid;
}

void TestCluster::start_node(int port) const {
  std::string cmd = shell_quote(script_) + " start-node " + std::to_string(port) + " --dir " + shell_quote(dir_) +
                    " >/dev/null 2>&1 </dev/null";
  REQUIRE(system(cmd.c_str()) == 0);
}

bool TestCluster::wait_healthy(std::chrono::seconds limit) const {
  RedisStoreOptions o = store_options();
  o.cluster.request_timeout = std::chrono::milliseconds(2000);
  std::unique_ptr<RedisStore> store = open_store(o);
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (store->health().is_ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  Status last = store->health();
  UNSCOPED_INFO("cluster not healthy: " << last.message());
  return last.is_ok();
}

std::vector<std::string> things_on_master(const TestCluster& cluster, int master_port, const std::string& stem,
                                          size_t count) {
  // Slot ownership, read once.
  std::vector<int> owner(redis::kSlotCount, 0);
  for (int port : cluster.ports()) {
    redis::Reply r = cluster.command(port, {"CLUSTER", "SLOTS"});
    auto ranges = redis::parse_cluster_slots(r, "127.0.0.1");
    if (!ranges.ok()) continue;
    for (const auto& range : ranges.value())
      for (int s = range.first; s <= range.last; ++s) owner[static_cast<size_t>(s)] = range.master.port;
    break;
  }
  std::vector<std::string> out;
  for (int n = 0; out.size() < count && n < 1000000; ++n) {
    std::string t = stem + "-" + std::to_string(n);
    if (owner[static_cast<size_t>(redis::key_slot(t))] == master_port) out.push_back(t);
  }
  REQUIRE(out.size() == count);
  return out;
}

}  // namespace shadow::redis_test
