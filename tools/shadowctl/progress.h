// A one-line progress bar on stderr, drawn only when stderr is a terminal;
// otherwise every call is a no-op so logs and pipes stay clean.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace shadowctl {

class ProgressBar {
 public:
  ProgressBar(bool enabled, std::string unit) : enabled_(enabled), unit_(std::move(unit)) {}
  ~ProgressBar() { clear(); }

  // Redraws "[#####.....] done/total unit label" (at most every 50 ms, and
  // always when done == total).
  void update(std::size_t done, std::size_t total, const std::string& label);
  // Redraws "done unit label" when the total is not known (same pacing).
  void count(std::size_t done, const std::string& label);
  // Erases the bar, e.g. before printing an error line.
  void clear();

 private:
  bool enabled_;
  std::string unit_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace shadowctl
