// A mosquitto broker started by the load generator: its own temporary
// directory (config, log, data), a free loopback port, stopped on destruction.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace loadgen {

struct BrokerSpec {
  std::string mosquitto = "mosquitto";  // executable (searched in PATH, then /usr/sbin)
  std::string plugin;                   // empty: a plain broker without the shadow plugin
  // plugin_opt_<key> <value> lines; db_path is added when not given.
  std::vector<std::pair<std::string, std::string>> plugin_options;
  std::vector<std::string> extra_conf;  // raw mosquitto.conf lines
  std::string data_dir;  // RocksDB directory to use; empty: <temp dir>/db
  bool keep_dir = false;  // leave the temporary directory behind (log, data)

  // Adds the options both tools take on their command line: --sync-writes
  // and --plugin-opt KEY=VALUE (repeatable).
  void add_cli_plugin_options(bool sync_writes, const std::vector<std::string>& key_values);
};

class BrokerProcess {
 public:
  BrokerProcess() = default;
  ~BrokerProcess();
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  // Writes the config and starts mosquitto, then waits (at most 15 s) until
  // its port accepts connections. Returns "" or an error message that includes
  // the tail of the broker log.
  std::string start(const BrokerSpec& spec);
  // Starts the broker again with the same directory and port (data kept).
  std::string restart();
  // SIGTERM, then SIGKILL after 10 s. Safe to call twice.
  void stop();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }
  // Seconds from the last start (fork) until the port accepted a connection.
  double startup_seconds() const { return startup_seconds_; }

  // User + system CPU seconds the broker has used so far (/proc/<pid>/stat);
  // -1 if it cannot be read.
  double cpu_seconds() const;
  // Seconds the broker's main thread has spent runnable but waiting for a
  // CPU (/proc/<pid>/schedstat); -1 if unknown.
  double run_queue_wait_seconds() const;
  // Resident set size in kB (/proc/<pid>/status VmRSS); -1 if unknown.
  long rss_kb() const;
  // The last `max_bytes` of the broker log.
  std::string log_tail(size_t max_bytes = 2000) const;

 private:
  std::string spawn_and_wait();
  std::string write_config() const;

  BrokerSpec spec_;
  std::string dir_;
  std::string data_dir_;
  std::string conf_path_;
  std::string log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
  double startup_seconds_ = 0;
};

// A port on 127.0.0.1 that the kernel just handed out (0 on failure). Another
// process may take it before the broker binds it; start() retries.
int free_loopback_port();

}  // namespace loadgen
