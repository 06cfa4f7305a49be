#include "tools/loadgen/broker_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace loadgen {
namespace {

using Clock = std::chrono::steady_clock;

bool port_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string find_mosquitto(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = std::string(path ? path : "") + ":/usr/sbin:/usr/local/sbin";
  std::stringstream ss(dirs);
  std::string d;
  while (std::getline(ss, d, ':')) {
    if (d.empty()) continue;
    std::string candidate = d + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

}  // namespace

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

BrokerProcess::~BrokerProcess() {
  stop();
  if (!dir_.empty() && !spec_.keep_dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string BrokerProcess::write_config() const {
  std::ofstream f(conf_path_, std::ios::trunc);
  // Otherwise mosquitto drops to user 'mosquitto' before the plugin opens the
  // root-owned data directory.
  if (::geteuid() == 0) f << "user root\n";
  f << "listener " << port_ << " 127.0.0.1\n"
    << "allow_anonymous true\n"
    << "persistence false\n"
    << "log_dest stderr\n"  // stdout would be fully buffered into the log file
    << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
    << "set_tcp_nodelay true\n";
  for (const auto& line : spec_.extra_conf) f << line << "\n";
  if (!spec_.plugin.empty()) {
    f << "plugin " << spec_.plugin << "\n";
    bool has_db_path = false;
    for (const auto& [k, v] : spec_.plugin_options) {
      f << "plugin_opt_" << k << " " << v << "\n";
      has_db_path = has_db_path || k == "db_path";
    }
    if (!has_db_path) f << "plugin_opt_db_path " << data_dir_ << "\n";
  }
  f.close();
  return f ? "" : "cannot write " + conf_path_;
}

std::string BrokerProcess::start(const BrokerSpec& spec) {
  spec_ = spec;
  spec_.mosquitto = find_mosquitto(spec.mosquitto);
  if (!spec_.plugin.empty() && ::access(spec_.plugin.c_str(), R_OK) != 0) {
    return "plugin " + spec_.plugin + " not found: build it (cmake --build build) or pass --plugin PATH";
  }
  char tmpl[] = "/tmp/shadow-loadgen-XXXXXX";
  if (!::mkdtemp(tmpl)) return "cannot create a temporary directory in /tmp";
  dir_ = tmpl;
  data_dir_ = spec_.data_dir.empty() ? dir_ + "/db" : spec_.data_dir;
  conf_path_ = dir_ + "/mosquitto.conf";
  log_path_ = dir_ + "/mosquitto.log";
  std::string err;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_loopback_port();
    if (port_ == 0) return "cannot find a free port on 127.0.0.1";
    err = write_config();
    if (!err.empty()) return err;
    err = spawn_and_wait();
    if (err.empty()) return "";
    if (err.find("Address already in use") == std::string::npos) break;
  }
  return err;
}

std::string BrokerProcess::restart() {
  stop();
  return spawn_and_wait();
}

std::string BrokerProcess::spawn_and_wait() {
  auto t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    // Own process group, so a Ctrl-C meant for the load generator does not
    // kill the broker before the load generator has stopped it.
    ::setpgid(0, 0);
    ::execl(spec_.mosquitto.c_str(), spec_.mosquitto.c_str(), "-c", conf_path_.c_str(),
            static_cast<char*>(nullptr));
    std::fprintf(stderr, "exec %s failed\n", spec_.mosquitto.c_str());
    ::_exit(127);
  }
  pid_ = pid;
  // The listener opens only after the plugin initialised, so an accepted
  // connection also means the plugin loaded.
  auto deadline = t0 + std::chrono::seconds(15);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "mosquitto exited during start-up (" + spec_.mosquitto + " -c " + conf_path_ +
             "); its log:\n" + log_tail();
    }
    if (port_accepts(port_)) {
      startup_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
      return "";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop();
  return "mosquitto did not accept connections on 127.0.0.1:" + std::to_string(port_) +
         " within 15 s; its log:\n" + log_tail();
}

void BrokerProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  auto deadline = Clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (Clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

double BrokerProcess::cpu_seconds() const {
  if (pid_ <= 0) return -1;
  std::ifstream f("/proc/" + std::to_string(pid_) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return -1;
  // Fields after the command name, which is in parentheses and may hold spaces.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // rest starts at field 3 (state); utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double BrokerProcess::run_queue_wait_seconds() const {
  if (pid_ <= 0) return -1;
  // "<on-cpu ns> <run-queue wait ns> <timeslices>"
  std::ifstream f("/proc/" + std::to_string(pid_) + "/schedstat");
  unsigned long long on_cpu = 0, waiting = 0;
  if (!(f >> on_cpu >> waiting)) return -1;
  return static_cast<double>(waiting) / 1e9;
}

long BrokerProcess::rss_kb() const {
  if (pid_ <= 0) return -1;
  std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

std::string BrokerProcess::log_tail(size_t max_bytes) const {
  std::ifstream f(log_path_, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

void BrokerSpec::add_cli_plugin_options(bool sync_writes, const std::vector<std::string>& key_values) {
  if (sync_writes) plugin_options.emplace_back("sync_writes", "true");
  for (const auto& o : key_values) {
    size_t eq = o.find('=');
    plugin_options.emplace_back(o.substr(0, eq), eq == std::string::npos ? "" : o.substr(eq + 1));
  }
}

}  // namespace loadgen
