// A latency histogram with logarithmic buckets (in the spirit of HdrHistogram):
// each power of two is split into 128 sub-buckets, so a recorded value is kept
// with a relative error below 1 %. Recording is one array increment, so every
// load thread keeps its own histogram and they are merged at the end.
#pragma once

#include <array>
#include <cstdint>

namespace loadgen {

class Histogram {
 public:
  // Records one latency in nanoseconds (negative values count as 0).
  void record(int64_t nanos);
  // Adds every sample of `other` to this histogram.
  void merge(const Histogram& other);

  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  // The value below which `p` percent of the samples lie (0 < p <= 100), as
  // the upper bound of its bucket (capped at max()); 0 when empty.
  int64_t percentile(double p) const;

 private:
  static constexpr int kSubBits = 7;  // 128 sub-buckets per power of two
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  static int index_of(uint64_t v);
  static uint64_t upper_bound_of(int index);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace loadgen
