// How many HTTP connections the REST server holds open, in total and per
// client address (plugin_opt_http_max_connections,
// plugin_opt_http_max_connections_per_ip). A connection over either limit is
// refused right after accept, so one client cannot take every slot, and the
// slots it can take are bounded in memory (request head, body and buffers
// are capped per connection). Thread-safe; pure C++.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace shadow::rest {

class ConnectionLimits {
 public:
  // 0 for `per_address` means no per-address limit.
  ConnectionLimits(size_t total, size_t per_address);

  enum class Admission { kAdmitted, kOverTotal, kOverPerAddress };

  // Takes a slot for a new connection from `address` (any stable text that
  // names the client, e.g. "192.0.2.1"); on kAdmitted the caller must
  // release(address) when the connection closes.
  Admission admit(std::string_view address);
  void release(std::string_view address);

  size_t open() const;
  size_t open_from(std::string_view address) const;

 private:
  const size_t total_;
  const size_t per_address_;
  mutable std::mutex mutex_;
  size_t open_ = 0;
  std::unordered_map<std::string, size_t> by_address_;  // only addresses with open connections
};

}  // namespace shadow::rest
