#include "plugin/rest/connection_limits.h"

namespace shadow::rest {

ConnectionLimits::ConnectionLimits(size_t total, size_t per_address)
    : total_(total), per_address_(per_address) {}

ConnectionLimits::Admission ConnectionLimits::admit(std::string_view address) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (open_ >= total_) return Admission::kOverTotal;
  std::string key(address);
  auto it = by_address_.find(key);
  size_t from_address = it == by_address_.end() ? 0 : it->second;
  if (per_address_ != 0 && from_address >= per_address_) return Admission::kOverPerAddress;
  if (it == by_address_.end()) it = by_address_.emplace(std::move(key), 0).first;
  it->second++;
  open_++;
  return Admission::kAdmitted;
}

void ConnectionLimits::release(std::string_view address) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_address_.find(std::string(address));
  if (it == by_address_.end()) return;  // never admitted: nothing to give back
  if (--it->second == 0) by_address_.erase(it);
  open_--;
}

size_t ConnectionLimits::open() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_;
}

size_t ConnectionLimits::open_from(std::string_view address) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_address_.find(std::string(address));
  return it == by_address_.end() ? 0 : it->second;
}

}  // namespace shadow::rest
