// A Redis reply as a plain value: what a command answered, decoded from the
// wire. The cluster client converts hiredis's replies into this type right
// away, so that routing decisions, topology parsing and the store's result
// handling are pure functions of a value that tests can build by hand.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace shadow::redis {

// One command: its arguments, binary-safe ("SET", key, value).
using Command = std::vector<std::string>;

struct Reply {
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError };

  Type type = Type::kNil;
  std::string str;         // kString, kStatus, kError ("MOVED 3999 127.0.0.1:7001")
  long long integer = 0;   // kInteger
  std::vector<Reply> elements;  // kArray

  static Reply string(std::string s) { return {Type::kString, std::move(s), 0, {}}; }
  static Reply status(std::string s) { return {Type::kStatus, std::move(s), 0, {}}; }
  static Reply error(std::string s) { return {Type::kError, std::move(s), 0, {}}; }
  static Reply integer_of(long long n) { return {Type::kInteger, {}, n, {}}; }
  static Reply nil() { return {}; }
  static Reply array(std::vector<Reply> e) { return {Type::kArray, {}, 0, std::move(e)}; }

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  // The first word of an error ("MOVED", "NOSCRIPT"); empty for non-errors.
  std::string_view error_code() const {
    if (type != Type::kError) return {};
    std::string_view s = str;
    return s.substr(0, s.find(' '));
  }
};

}  // namespace shadow::redis
