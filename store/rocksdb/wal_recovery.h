// How RocksDbStore notices a damaged write-ahead log and says what it lost
// (rocksdb_store.h, "Damaged write-ahead log").
//
// RocksDB itself decides what is damaged: the store opens the database with
// kTolerateCorruptedTailRecords, which replays every log completely, accepts
// a half-written last record (what a crash leaves) and refuses anything else
// with a Corruption status. That status does not name the file; RocksDB
// writes the file and the bytes it dropped only to its own LOG, through the
// info logger. DamageCapturingLogger sits in front of that LOG and keeps
// those reports, so the store can name the file.
//
// When the operator allows point-in-time recovery the store opens again with
// kPointInTimeRecovery, which replays each log up to its first damage and
// drops the rest. ReplayTracker, a WalFilter, sees every replayed record and
// works out where in its file the replay ended, which gives the number of
// bytes dropped. The damaged files are linked (or copied) aside first,
// because RocksDB deletes replayed logs once their contents are in table
// files.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <rocksdb/env.h>
#include <rocksdb/wal_filter.h>

#include "common/status.h"

namespace shadow::rocksdb_wal {

struct WalFile {
  uint64_t number = 0;  // RocksDB's file number: NNNNNN.log
  std::string path;
  uint64_t size = 0;
};

// The write-ahead log files in `dir`, by number (none if it does not exist).
std::vector<WalFile> list_wal_files(const std::string& dir);

// One "FILE: dropping N bytes; REASON" report of RocksDB's log recovery.
struct WalDamage {
  std::string file;
  uint64_t dropped = 0;
  std::string reason;  // e.g. "Corruption: checksum mismatch"
};

// Parses one LOG line; false if it is not a damage report about a ".log" file.
bool parse_damage_report(std::string_view line, WalDamage* out);

// A Logger in front of RocksDB's own LOG file (`inner`): writes everything
// through and keeps the damage reports of log recovery.
class DamageCapturingLogger final : public rocksdb::Logger {
 public:
  explicit DamageCapturingLogger(std::shared_ptr<rocksdb::Logger> inner);
  ~DamageCapturingLogger() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
  void LogHeader(const char* format, va_list ap) override;
  size_t GetLogFileSize() const override;
  void Flush() override;
  void SetInfoLogLevel(const rocksdb::InfoLogLevel level) override;

  std::vector<WalDamage> damage() const;

 protected:
  rocksdb::Status CloseImpl() override;

 private:
  std::shared_ptr<rocksdb::Logger> inner_;
  mutable std::mutex mu_;
  std::vector<WalDamage> damage_;
};

// The end offset, in its log file, of a record of `payload` bytes written at
// `offset`, following RocksDB's log format: 32 KiB blocks; a record is split
// into fragments with a 7-byte header each; a block tail shorter than a
// header is padding. (Holds for logs written without recycling or
// compression, which this store never enables.)
uint64_t wal_record_end(uint64_t offset, uint64_t payload);

// A WalFilter that changes nothing and tracks, per log number, the end
// offset of the last record replayed.
class ReplayTracker final : public rocksdb::WalFilter {
 public:
  WalProcessingOption LogRecordFound(unsigned long long log_number, const std::string& log_file_name,
                                     const rocksdb::WriteBatch& batch, rocksdb::WriteBatch* new_batch,
                                     bool* batch_changed) override;
  const char* Name() const override { return "shadow.ReplayTracker"; }

  // Bytes of log `number` replayed (0 if none).
  uint64_t replayed(uint64_t number) const;

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, uint64_t> ends_;
};

// Links (or, where links are impossible, copies) `files` into a new
// directory "damaged-wal-<UTC time>" under `dir`; returns its path.
StatusOr<std::string> keep_aside(const std::string& dir, const std::vector<WalFile>& files);

}  // namespace shadow::rocksdb_wal
