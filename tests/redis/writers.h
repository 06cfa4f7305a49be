// Writer threads for the fault tests: each thread owns some keys and bumps
// them with get + compare_and_set, remembering every write the store
// acknowledged (kOk) with its version and a unique document. Afterwards
// verify() checks what "no acknowledged write lost" means here:
// - the stored version of every key is at least its highest acknowledged
//   version, and if a write at exactly the stored version was acknowledged,
//   the stored document is that write's document;
// - no version of a key was acknowledged twice. A lost write shows itself
//   this way: the writer reads the older state, and its next write gets the
//   lost write's version number again.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace shadow::redis_test {

class Writers {
 public:
  // `padding` bytes are added to every document (to make writes big).
  Writers(Store& store, std::vector<StoreKey> keys, int threads, size_t padding = 0)
      : store_(store), keys_(std::move(keys)), threads_(threads), padding_(padding, 'p'), logs_(keys_.size()) {}
  ~Writers() { stop(); }

  void start() {
    for (int t = 0; t < threads_; ++t) workers_.emplace_back([this, t] { run(t); });
  }

  void stop() {
    stop_ = true;
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  // Waits until `n` more writes have been acknowledged than at the call,
  // at most `limit`. False if they did not come in time.
  bool wait_for_acks(uint64_t n, std::chrono::seconds limit) {
    uint64_t target = acks_ + n;
    auto until = std::chrono::steady_clock::now() + limit;
    while (acks_ < target && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return acks_ >= target;
  }

  uint64_t acks() const { return acks_; }
  uint64_t errors() const { return errors_; }
  uint64_t conflicts() const { return conflicts_; }

  struct Verdict {
    uint64_t acked = 0;   // acknowledged writes
    uint64_t lost = 0;    // keys whose stored state is older than an acknowledged write
    uint64_t reused = 0;  // versions acknowledged twice
    std::string first_problem;
  };

  // Call after stop(). Reads every key through `reader`.
  Verdict verify(Store& reader) {
    Verdict v;
    for (size_t i = 0; i < keys_.size(); ++i) {
      const Log& log = logs_[i];
      v.acked += log.acked.size();
      v.reused += log.reused;
      if (log.reused > 0 && v.first_problem.empty())
        v.first_problem = keys_[i].thing + ": a version was acknowledged twice (" + log.reused_example + ")";
      if (log.acked.empty()) continue;
      ShadowRecord r;
      Status s;
      for (int attempt = 0; attempt < 20; ++attempt) {
        s = reader.get(keys_[i], &r);
        if (s.is_ok() || s.code() == Status::Code::kNotFound) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
      uint64_t stored = s.is_ok() ? r.version : 0;
      auto [max_version, max_doc] = *log.acked.rbegin();
      bool lost = stored < max_version;
      auto at_stored = log.acked.find(stored);
      if (at_stored != log.acked.end() && at_stored->second != r.document) lost = true;
      if (lost) {
        ++v.lost;
        if (v.first_problem.empty())
          v.first_problem = keys_[i].thing + ": stored version " + std::to_string(stored) + " (" +
                            (s.is_ok() ? head(r.document) : s.message()) + "), acknowledged up to " +
                            std::to_string(max_version) + " (" + head(max_doc) + ")";
      }
    }
    return v;
  }

 private:
  struct Log {
    std::map<uint64_t, std::string> acked;  // version -> document
    uint64_t reused = 0;
    std::string reused_example;
  };

  // The part of a document that identifies the write (not the padding).
  static std::string head(const std::string& doc) { return doc.substr(0, doc.find(",\"pad\"")); }

  void run(int t) {
    uint64_t seq = 0;
    while (!stop_) {
      for (size_t i = static_cast<size_t>(t); i < keys_.size() && !stop_; i += static_cast<size_t>(threads_)) {
        const StoreKey& key = keys_[i];
        ShadowRecord cur;
        Status g = store_.get(key, &cur);
        if (!g.is_ok() && g.code() != Status::Code::kNotFound) {
          ++errors_;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        std::optional<RecordStamp> expected;
        uint64_t version = 1;
        if (g.is_ok()) {
          expected = stamp_of(cur);
          version = cur.version + 1;
        }
        ShadowRecord next;
        next.version = version;
        next.document = "{\"writer\":" + std::to_string(t) + ",\"seq\":" + std::to_string(++seq) + ",\"pad\":\"" +
                        padding_ + "\"}";
        Status s = store_.compare_and_set(key, expected, next);
        if (s.is_ok()) {
          Log& log = logs_[i];
          auto [it, fresh] = log.acked.emplace(version, next.document);
          if (!fresh) {
            ++log.reused;
            log.reused_example =
                "version " + std::to_string(version) + ": " + head(it->second) + " and " + head(next.document);
            it->second = next.document;
          }
          ++acks_;
        } else if (s.code() == Status::Code::kConflict) {
          ++conflicts_;
        } else {
          ++errors_;
        }
      }
    }
  }

  Store& store_;
  const std::vector<StoreKey> keys_;
  const int threads_;
  const std::string padding_;
  std::vector<Log> logs_;  // one per key; a key belongs to one thread
  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> acks_{0}, errors_{0}, conflicts_{0};
};

}  // namespace shadow::redis_test
