#include "plugin/rules/sql/payload.h"

#include <array>
#include <utility>

namespace shadow::rules::sql {

namespace {
constexpr size_t kInitialBuffer = 16 * 1024;
constexpr size_t kMaxKeptBuffer = 1024 * 1024;
}  // namespace

bool within_depth(const json::Value& value, int max_depth) {
  if (!value.IsObject() && !value.IsArray()) return true;
  if (max_depth < 1) return false;
  if (max_depth > kMaxPayloadDepth) max_depth = kMaxPayloadDepth;
  // Each frame: a container and the index of its next child to visit.
  struct Frame {
    const json::Value* container;
    rapidjson::SizeType next;
  };
  std::array<Frame, kMaxPayloadDepth> stack;
  int depth = 0;
  stack[depth++] = {&value, 0};
  while (depth > 0) {
    Frame& top = stack[depth - 1];
    const json::Value& c = *top.container;
    rapidjson::SizeType count = c.IsObject() ? c.MemberCount() : c.Size();
    if (top.next >= count) {
      --depth;
      continue;
    }
    const json::Value& child = c.IsObject() ? c.MemberBegin()[top.next].value : c[top.next];
    ++top.next;
    if (child.IsObject() || child.IsArray()) {
      if (depth == max_depth) return false;
      stack[depth++] = {&child, 0};
    }
  }
  return true;
}

PayloadParser::PayloadParser() : buffer_(kInitialBuffer) {}

Payload PayloadParser::parse(std::string_view bytes) {
  doc_.reset();
  // The pool starts in a buffer that grows to what the largest payload so
  // far needed, so that steady traffic parses without allocating. The old
  // pool goes first: its first chunk is the buffer.
  size_t needed = pool_ ? pool_->Capacity() : 0;
  pool_.reset();
  if (needed > buffer_.size() && needed <= kMaxKeptBuffer) buffer_.resize(needed);
  pool_.emplace(buffer_.data(), buffer_.size());
  doc_.emplace(&*pool_);
  Payload payload;
  payload.bytes = bytes;
  // In-situ parsing decodes strings inside a copy of the bytes instead of
  // copying each one into the pool.
  text_.assign(bytes);
  // JSON is UTF-8: other bytes make a binary payload, whose strings could
  // otherwise reach a rule's JSON output.
  if (!bytes.empty() && json::is_valid_utf8(bytes) && json::parse_in_place(text_, &*doc_) &&
      within_depth(*doc_, kMaxPayloadDepth))
    payload.json = &*doc_;
  return payload;
}

}  // namespace shadow::rules::sql
