#include "plugin/rules/sql/eval_context.h"

#include <cstdio>
#include <random>

namespace shadow::rules::sql {

std::string MessageContext::new_uuid() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  uint64_t hi = generator(), lo = generator();
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return std::string(buf, 36);
}

}  // namespace shadow::rules::sql
