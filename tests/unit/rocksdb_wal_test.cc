// A damaged, cut or missing write-ahead log (store/rocksdb/wal_recovery.h):
// strict mode refuses to open and says which file, what was found and how to
// recover; point-in-time mode recovers up to the damage, keeps the files and
// says how much was dropped. What a crash leaves (a half-written last
// record) is not damage.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "rocksdb_test_util.h"
#include "store/rocksdb/rocksdb_store.h"
#include "store/rocksdb/wal_recovery.h"

namespace shadow {
namespace {

namespace fs = std::filesystem;
using testing::open_or_fail;
using testing::TempDir;

constexpr int kRecords = 200;
const std::string kPad(300, 'p');

std::string key_of(int i) { return rocksdb_format::shadow_key("thing" + std::to_string(1000 + i), ""); }

// kRecords acknowledged writes that are only in the write-ahead log, as
// after a crash. Returns the log file.
rocksdb_wal::WalFile write_unflushed(const std::string& path) {
  {
    auto db = testing::open_raw(path);
    for (int i = 0; i < kRecords; ++i) {
      std::string value = rocksdb_format::encode_record(testing::live_record(1, kPad + std::to_string(i)));
      REQUIRE(db->Put(rocksdb::WriteOptions(), key_of(i), value).ok());
    }
  }
  // RocksDB may keep empty logs of earlier opens around; one holds the writes.
  std::vector<rocksdb_wal::WalFile> written;
  for (const auto& w : rocksdb_wal::list_wal_files(path))
    if (w.size > 0) written.push_back(w);
  REQUIRE(written.size() == 1);
  REQUIRE(written[0].size > 60000);
  return written[0];
}

void flip_byte(const std::string& file, uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  REQUIRE(f.good());
}

// Which of the kRecords keys the store holds; they must be a prefix.
int recovered_prefix(RocksDbStore& store) {
  int present = 0;
  for (int i = 0; i < kRecords; ++i) {
    ShadowRecord r;
    Status s = store.get({"thing" + std::to_string(1000 + i), ""}, &r);
    if (s.is_ok()) {
      CHECK(present == i);  // no hole
      CHECK(r.document == kPad + std::to_string(i));
      ++present;
    } else {
      CHECK(s.is_not_found());
    }
  }
  return present;
}

RocksDbOptions options_for(const std::string& path, WalRecovery mode) {
  RocksDbOptions o;
  o.path = path;
  o.wal_recovery = mode;
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST_CASE("rocksdb wal: a byte flipped in the middle of the log is refused, then recovered on request",
          "[rocksdb][wal]") {
  TempDir dir;
  rocksdb_wal::WalFile wal = write_unflushed(dir.db());
  const uint64_t flipped_at = wal.size / 2;
  flip_byte(wal.path, flipped_at);
  const std::string damaged = read_file(wal.path);

  // Strict (the default): not opened; the message names the file, what was
  // found and the way out.
  auto refused = RocksDbStore::open(options_for(dir.db(), WalRecovery::kStrict));
  REQUIRE_FALSE(refused.ok());
  const std::string& message = refused.status().message();
  INFO(message);
  CHECK(refused.status().code() == Status::Code::kIoError);
  CHECK_THAT(message, Catch::Contains(wal.path) && Catch::Contains("checksum mismatch") &&
                          Catch::Contains("plugin_opt_wal_recovery point_in_time") &&
                          Catch::Contains("docs/operations.md") && Catch::Contains("cp -a " + dir.db()));
  // Nothing was changed: the log is still there, as it was.
  CHECK(read_file(wal.path) == damaged);
  CHECK_FALSE(RocksDbStore::open(options_for(dir.db(), WalRecovery::kStrict)).ok());

  // Point-in-time: the writes before the damage, the files kept aside, and
  // a report of what was dropped.
  {
    auto store = open_or_fail(options_for(dir.db(), WalRecovery::kPointInTime));
    int recovered = recovered_prefix(*store);
    CHECK(recovered > 0);
    CHECK(recovered < kRecords);
    const std::string& report = store->recovery_report();
    INFO(report);
    CHECK_THAT(report, Catch::Contains(wal.path) && Catch::Contains("checksum mismatch") &&
                           Catch::Contains("lost") && Catch::Contains(dir.db() + "/damaged-wal-"));
    // The dropped bytes start with the damaged record: at most one record
    // (about 350 bytes with its headers) before the flipped byte.
    size_t at = report.find("; ") + 2;
    uint64_t dropped = std::stoull(report.substr(at));
    CHECK(dropped >= wal.size - flipped_at);
    CHECK(dropped <= wal.size - flipped_at + 400);
    // The damaged file as it was.
    std::vector<std::string> kept;
    for (const auto& e : fs::directory_iterator(dir.db()))
      if (e.path().filename().string().rfind("damaged-wal-", 0) == 0) kept.push_back(e.path().string());
    REQUIRE(kept.size() == 1);
    CHECK(read_file(kept[0] + "/" + fs::path(wal.path).filename().string()) == damaged);
    // New writes work.
    REQUIRE(store->compare_and_set({"after", ""}, std::nullopt, testing::live_record(1, "x")).is_ok());
  }
  // Recovered for good: strict opens again, with the same data.
  auto store = open_or_fail(options_for(dir.db(), WalRecovery::kStrict));
  CHECK(store->recovery_report().empty());
  ShadowRecord r;
  CHECK(store->get({"after", ""}, &r).is_ok());
  CHECK(recovered_prefix(*store) > 0);
}

TEST_CASE("rocksdb wal: a half-written last record is what a crash leaves, not damage", "[rocksdb][wal]") {
  TempDir dir;
  rocksdb_wal::WalFile wal = write_unflushed(dir.db());
  fs::resize_file(wal.path, wal.size - 100);  // inside the last record
  auto store = open_or_fail(options_for(dir.db(), WalRecovery::kStrict));
  CHECK(store->recovery_report().empty());
  CHECK(recovered_prefix(*store) == kRecords - 1);
}

TEST_CASE("rocksdb wal: a log cut short cannot be told from a crash's", "[rocksdb][wal]") {
  // Documented limit (docs/operations.md): RocksDB keeps no record of how
  // long the live log should be, so a log truncated after a crash opens
  // with the writes before the cut.
  TempDir dir;
  rocksdb_wal::WalFile wal = write_unflushed(dir.db());
  fs::resize_file(wal.path, wal.size / 2);
  auto store = open_or_fail(options_for(dir.db(), WalRecovery::kStrict));
  int recovered = recovered_prefix(*store);
  CHECK(recovered > 0);
  CHECK(recovered < kRecords);
}

TEST_CASE("rocksdb wal: a log missing after a crash is refused, after a clean close it is harmless",
          "[rocksdb][wal]") {
  TempDir dir;
  const std::string marker = dir.db() + "/" + RocksDbStore::kInUseMarker;
  {
    auto store = open_or_fail(options_for(dir.db(), WalRecovery::kStrict));
    CHECK(fs::exists(marker));
    for (int i = 0; i < 10; ++i)
      REQUIRE(store->compare_and_set({"t" + std::to_string(i), ""}, std::nullopt, testing::live_record(1, "d")).is_ok());
  }
  // A clean close flushed everything to table files and removed the marker:
  // the log holds nothing, and losing it loses nothing.
  CHECK_FALSE(fs::exists(marker));
  for (const auto& w : rocksdb_wal::list_wal_files(dir.db())) {
    CHECK(w.size == 0);
    fs::remove(w.path);
  }
  {
    auto store = open_or_fail(options_for(dir.db(), WalRecovery::kStrict));
    ShadowRecord r;
    for (int i = 0; i < 10; ++i) CHECK(store->get({"t" + std::to_string(i), ""}, &r).is_ok());
  }

  // After a crash (writes only in the log, the marker left behind) a
  // missing log lost writes.
  write_unflushed(dir.db());
  std::ofstream(marker) << "crashed\n";
  for (const auto& w : rocksdb_wal::list_wal_files(dir.db())) fs::remove(w.path);
  auto refused = RocksDbStore::open(options_for(dir.db(), WalRecovery::kStrict));
  REQUIRE_FALSE(refused.ok());
  INFO(refused.status().message());
  CHECK_THAT(refused.status().message(), Catch::Contains("write-ahead log") && Catch::Contains("missing") &&
                                             Catch::Contains(dir.db()) &&
                                             Catch::Contains("plugin_opt_wal_recovery point_in_time"));
  auto store = open_or_fail(options_for(dir.db(), WalRecovery::kPointInTime));
  CHECK_THAT(store->recovery_report(), Catch::Contains("missing"));
  ShadowRecord r;
  CHECK(store->get({"t0", ""}, &r).is_ok());  // what the table files held
  CHECK(store->get({"thing1000", ""}, &r).is_not_found());
}

TEST_CASE("rocksdb wal: the log layout and RocksDB's damage reports are read right", "[rocksdb][wal]") {
  using rocksdb_wal::wal_record_end;
  CHECK(wal_record_end(0, 0) == 7);
  CHECK(wal_record_end(0, 100) == 107);
  CHECK(wal_record_end(107, 100) == 214);
  // Fits exactly into the first block.
  CHECK(wal_record_end(0, 32768 - 7) == 32768);
  // Split: 7 + 32761 in block 1, 7 + 39 in block 2.
  CHECK(wal_record_end(0, 32800) == 32768 + 7 + 39);
  // Fewer than 7 bytes left: padding, then a new block.
  CHECK(wal_record_end(32768 - 3, 10) == 32768 + 17);

  rocksdb_wal::WalDamage d;
  REQUIRE(rocksdb_wal::parse_damage_report(
      "[db/db_impl/db_impl_open.cc:982] /x/db/000004.log: dropping 178 bytes; Corruption: checksum mismatch", &d));
  CHECK(d.file == "/x/db/000004.log");
  CHECK(d.dropped == 178);
  CHECK(d.reason == "Corruption: checksum mismatch");
  REQUIRE(rocksdb_wal::parse_damage_report("(ignoring error) /x/000009.log: dropping 58 bytes; Corruption: truncated record body", &d));
  CHECK(d.file == "/x/000009.log");
  CHECK_FALSE(rocksdb_wal::parse_damage_report("[x] /x/MANIFEST-000005: dropping 10 bytes; Corruption: y", &d));
  CHECK_FALSE(rocksdb_wal::parse_damage_report("[x] DB::Open() failed: Corruption: checksum mismatch", &d));
}

}  // namespace shadow
