#include "store/rocksdb/wal_recovery.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>

#include <rocksdb/write_batch.h>

namespace shadow::rocksdb_wal {

namespace fs = std::filesystem;

std::vector<WalFile> list_wal_files(const std::string& dir) {
  std::vector<WalFile> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= 4 || name.compare(name.size() - 4, 4, ".log") != 0) continue;
    const std::string digits = name.substr(0, name.size() - 4);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code size_ec;
    uint64_t size = it->file_size(size_ec);
    if (size_ec) size = 0;
    files.push_back(WalFile{std::stoull(digits), it->path().string(), size});
  }
  std::sort(files.begin(), files.end(), [](const WalFile& a, const WalFile& b) { return a.number < b.number; });
  return files;
}

bool parse_damage_report(std::string_view line, WalDamage* out) {
  // RocksDB 7.8 (db/db_impl/db_impl_open.cc, LogReporter::Corruption):
  //   "[SOURCE:LINE] [(ignoring error) ]FILE: dropping N bytes; REASON"
  // (the LOG file adds a time and thread id in front).
  if (!line.empty() && line.front() == '[') {
    size_t close = line.find("] ");
    if (close == std::string_view::npos) return false;
    line.remove_prefix(close + 2);
  }
  constexpr std::string_view kIgnoring = "(ignoring error) ";
  if (line.substr(0, kIgnoring.size()) == kIgnoring) line.remove_prefix(kIgnoring.size());
  constexpr std::string_view kDropping = ": dropping ";
  size_t at = line.find(kDropping);
  if (at == std::string_view::npos) return false;
  std::string_view file = line.substr(0, at);
  if (file.size() <= 4 || file.substr(file.size() - 4) != ".log") return false;
  std::string_view rest = line.substr(at + kDropping.size());
  size_t digits = rest.find_first_not_of("0123456789");
  constexpr std::string_view kBytes = " bytes; ";
  if (digits == 0 || digits == std::string_view::npos || rest.substr(digits, kBytes.size()) != kBytes) return false;
  out->file = std::string(file);
  out->dropped = std::stoull(std::string(rest.substr(0, digits)));
  out->reason = std::string(rest.substr(digits + kBytes.size()));
  while (!out->reason.empty() && (out->reason.back() == '\n' || out->reason.back() == ' ')) out->reason.pop_back();
  return true;
}

DamageCapturingLogger::DamageCapturingLogger(std::shared_ptr<rocksdb::Logger> inner)
    : rocksdb::Logger(inner->GetInfoLogLevel()), inner_(std::move(inner)) {}

DamageCapturingLogger::~DamageCapturingLogger() = default;

void DamageCapturingLogger::Logv(const char* format, va_list ap) { inner_->Logv(format, ap); }

void DamageCapturingLogger::Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  if (level >= rocksdb::InfoLogLevel::WARN_LEVEL) {
    va_list copy;
    va_copy(copy, ap);
    char buf[1024];
    int n = std::vsnprintf(buf, sizeof buf, format, copy);
    va_end(copy);
    WalDamage d;
    if (n > 0 && parse_damage_report(std::string_view(buf, std::min<size_t>(n, sizeof buf - 1)), &d)) {
      std::lock_guard<std::mutex> lock(mu_);
      damage_.push_back(std::move(d));
    }
  }
  inner_->Logv(level, format, ap);
}

void DamageCapturingLogger::LogHeader(const char* format, va_list ap) { inner_->LogHeader(format, ap); }

size_t DamageCapturingLogger::GetLogFileSize() const { return inner_->GetLogFileSize(); }

void DamageCapturingLogger::Flush() { inner_->Flush(); }

void DamageCapturingLogger::SetInfoLogLevel(const rocksdb::InfoLogLevel level) {
  rocksdb::Logger::SetInfoLogLevel(level);
  inner_->SetInfoLogLevel(level);
}

rocksdb::Status DamageCapturingLogger::CloseImpl() { return inner_->Close(); }

std::vector<WalDamage> DamageCapturingLogger::damage() const {
  std::lock_guard<std::mutex> lock(mu_);
  return damage_;
}

uint64_t wal_record_end(uint64_t offset, uint64_t payload) {
  constexpr uint64_t kBlockSize = 32768;
  constexpr uint64_t kHeaderSize = 7;
  do {
    uint64_t left = kBlockSize - offset % kBlockSize;
    if (left < kHeaderSize) {
      offset += left;  // the writer pads the block's tail and starts a new one
      left = kBlockSize;
    }
    uint64_t fragment = std::min(payload, left - kHeaderSize);
    offset += kHeaderSize + fragment;
    payload -= fragment;
  } while (payload > 0);
  return offset;
}

rocksdb::WalFilter::WalProcessingOption ReplayTracker::LogRecordFound(unsigned long long log_number,
                                                                     const std::string& /*log_file_name*/,
                                                                     const rocksdb::WriteBatch& batch,
                                                                     rocksdb::WriteBatch* /*new_batch*/,
                                                                     bool* batch_changed) {
  *batch_changed = false;
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t& end = ends_[log_number];
  // A log record holds exactly one write batch's bytes.
  end = wal_record_end(end, batch.GetDataSize());
  return WalProcessingOption::kContinueProcessing;
}

uint64_t ReplayTracker::replayed(uint64_t number) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = ends_.find(number);
  return it == ends_.end() ? 0 : it->second;
}

StatusOr<std::string> keep_aside(const std::string& dir, const std::vector<WalFile>& files) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  std::string aside = dir + "/damaged-wal-" + stamp;
  std::error_code ec;
  for (int n = 2; fs::exists(aside, ec); ++n) aside = dir + "/damaged-wal-" + stamp + "-" + std::to_string(n);
  if (!fs::create_directory(aside, ec)) {
    return Status::io_error("cannot create " + aside + " to keep the damaged write-ahead log: " + ec.message());
  }
  for (const WalFile& f : files) {
    const std::string target = aside + "/" + fs::path(f.path).filename().string();
    fs::create_hard_link(f.path, target, ec);
    if (ec && !fs::copy_file(f.path, target, ec)) {
      return Status::io_error("cannot keep a copy of " + f.path + " in " + aside + ": " + ec.message());
    }
  }
  return aside;
}

}  // namespace shadow::rocksdb_wal
