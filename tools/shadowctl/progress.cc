#include "tools/shadowctl/progress.h"

#include <cstdio>

namespace shadowctl {

void ProgressBar::update(std::size_t done, std::size_t total, const std::string& label) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && done != total && now - last_ < std::chrono::milliseconds(50)) return;
  last_ = now;
  constexpr int kWidth = 30;
  int filled = total == 0 ? kWidth : static_cast<int>(kWidth * done / total);
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  std::string shown = label.size() > 30 ? label.substr(0, 27) + "..." : label;
  // \r and erase-to-end-of-line: the bar rewrites itself in place.
  std::fprintf(stderr, "\r[%s] %zu/%zu %s %s\033[K", bar.c_str(), done, total, unit_.c_str(),
               shown.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::count(std::size_t done, const std::string& label) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(50)) return;
  last_ = now;
  std::string shown = label.size() > 40 ? label.substr(0, 37) + "..." : label;
  std::fprintf(stderr, "\r%zu %s %s\033[K", done, unit_.c_str(), shown.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!enabled_ || !drawn_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace shadowctl
