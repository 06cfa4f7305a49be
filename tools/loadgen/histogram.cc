#include "tools/loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace loadgen {

// Values below 128 get a bucket each. Above that, a value whose highest set
// bit is b (b >= 7) falls into the block (b - 6) and the sub-bucket given by
// its 7 bits below the highest one.
int Histogram::index_of(uint64_t v) {
  if (v < static_cast<uint64_t>(kSub)) return static_cast<int>(v);
  int b = 63 - std::countl_zero(v);
  int shift = b - kSubBits;
  int sub = static_cast<int>((v >> shift) & (kSub - 1));
  return (shift + 1) * kSub + sub;
}

uint64_t Histogram::upper_bound_of(int index) {
  if (index < kSub) return static_cast<uint64_t>(index);
  int shift = index / kSub - 1;
  uint64_t sub = static_cast<uint64_t>(index % kSub);
  uint64_t low = (static_cast<uint64_t>(kSub) | sub) << shift;
  return low + ((uint64_t{1} << shift) - 1);
}

void Histogram::record(int64_t nanos) {
  uint64_t v = nanos < 0 ? 0 : static_cast<uint64_t>(nanos);
  ++counts_[static_cast<size_t>(index_of(v))];
  ++count_;
  max_ = std::max<int64_t>(max_, static_cast<int64_t>(v));
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

int64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  // The rank of the sample that p percent of the samples do not exceed.
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::min<int64_t>(static_cast<int64_t>(upper_bound_of(static_cast<int>(i))), max_);
    }
  }
  return max_;
}

}  // namespace loadgen
