// JSON helpers over RapidJSON shared by the engine: safe parsing, duplicate
// keys, equality and compact output. Values live in a Document's memory pool
// (MemoryPoolAllocator), so destroying a deep tree never recurses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace shadow::json {

using Value = rapidjson::Value;
using Document = rapidjson::Document;
using Allocator = rapidjson::Document::AllocatorType;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Strict UTF-8 check (no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view bytes);
// The same check, saying where: the offset of the first byte that does not
// start a valid sequence, or std::string_view::npos when `bytes` is UTF-8.
size_t invalid_utf8_at(std::string_view bytes);

// Parses `text` without recursion, so any nesting depth is safe. Returns
// false for invalid JSON, trailing garbage, numbers out of double range, or
// strings whose escapes decode to something that is not UTF-8 (a UTF-16
// surrogate that is not half of a pair, "\udc00").
bool parse(std::string_view text, Document* doc);

// Like parse(), but decodes strings inside `text`, which must outlive the
// document and not change while it is in use. Faster: no string copies.
// For stored documents: decoded strings are taken as they are.
bool parse_in_place(std::string& text, Document* doc);

// The value of the LAST member called `name` (duplicate keys: the last one
// wins), or nullptr. `object` must be an object.
const Value* find_last(const Value& object, std::string_view name);

// Collapses duplicate keys in `object` and, recursively, in nested objects
// and arrays: each key keeps its first position and its last value. The
// caller bounds the depth (it runs after the nesting-depth check).
void dedupe_keys(Value& value, Allocator& alloc);

// Deep equality; numbers compare by numeric value (1 equals 1.0).
bool equal(const Value& a, const Value& b);

// The member `name` of `object`, or nullptr.
Value* find(Value& object, std::string_view name);
const Value* find(const Value& object, std::string_view name);

// Finds the members of one object by name: a scan for small objects, a hash
// index for large ones, so that n lookups stay linear (a hostile request may
// carry tens of thousands of keys). Index keys are copies, because AddMember
// may move the members. The object may only change through append().
class MemberFinder {
 public:
  // `lookups`: how many finds the caller expects; many finds on a small,
  // growing object are worth an index too.
  explicit MemberFinder(Value& object, size_t lookups = 0);
  Value* find(std::string_view name);
  void append(std::string_view name, Value&& value, Allocator& alloc);

 private:
  static constexpr size_t kScanLimit = 32;
  void add(rapidjson::SizeType i);

  Value& object_;
  bool indexed_ = false;
  std::unordered_map<std::string, rapidjson::SizeType> positions_;
};

// Sets member `name` (replacing the value in place, or appending).
void set_member(Value& object, std::string_view name, Value&& value, Allocator& alloc);
// Removes member `name` keeping the order of the others.
void erase_member(Value& object, std::string_view name);

inline std::string_view view(const Value& string_value) {
  return {string_value.GetString(), string_value.GetStringLength()};
}

// Compact serialization; byte length of the compact serialization.
std::string write(const Value& value);
size_t compact_size(const Value& value);

}  // namespace shadow::json
