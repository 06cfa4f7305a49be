// A message payload as rules see it: its bytes and, when the bytes are a
// JSON document, its parsed value. A payload that is not JSON (not UTF-8,
// or nesting deeper than kMaxPayloadDepth) has no value: its fields are
// Undefined and SELECT * passes its bytes on unchanged, as AWS does with
// binary payloads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shadow_core/json.h"

namespace shadow::rules::sql {

// Deepest JSON a payload may nest (objects and arrays) to be read as JSON.
// It bounds the recursion of copying and comparing values.
inline constexpr int kMaxPayloadDepth = 128;

// A view: both members must outlive its use.
struct Payload {
  std::string_view bytes;
  const json::Value* json = nullptr;  // nullptr: not JSON
};

// Whether `value` nests no deeper than `max_depth` (a scalar is depth 0,
// {"a":1} depth 1). Iterative, so any input is safe.
bool within_depth(const json::Value& value, int max_depth);

// Parses payloads, once per message, for all the rules the message
// triggers. Reusable: each parse() replaces the previous payload, reusing
// the memory it needed.
class PayloadParser {
 public:
  PayloadParser();
  PayloadParser(const PayloadParser&) = delete;
  PayloadParser& operator=(const PayloadParser&) = delete;

  // `bytes` must outlive the returned Payload and stay unchanged.
  Payload parse(std::string_view bytes);

 private:
  std::string text_;  // the bytes being parsed in place: the document's strings point here
  std::vector<char> buffer_;
  std::optional<json::Allocator> pool_;
  std::optional<json::Document> doc_;
};

}  // namespace shadow::rules::sql
