#include "plugin/rules/sql/output.h"

#include <utility>

namespace shadow::rules::sql {

namespace {
constexpr size_t kInitialBuffer = 8 * 1024;
constexpr size_t kMaxKeptBuffer = 1024 * 1024;

struct StringSink {
  using Ch = char;
  std::string& out;
  void Put(char c) { out.push_back(c); }
  void Flush() {}
};
}  // namespace

Output::Output() : buffer_(kInitialBuffer) { pool_.emplace(buffer_.data(), buffer_.size()); }

json::Allocator& Output::begin() {
  value_.SetNull();
  kind_ = Kind::kNoMatch;
  payload_ = {};
  error_.clear();
  // The pool starts in a buffer that grows to what the largest evaluation
  // so far needed. The old pool goes first: its first chunk is the buffer.
  size_t needed = pool_->Capacity();
  pool_.reset();
  if (needed > buffer_.size() && needed <= kMaxKeptBuffer) buffer_.resize(needed);
  pool_.emplace(buffer_.data(), buffer_.size());
  return *pool_;
}

void Output::set_json(json::Value&& value) {
  value_ = std::move(value);
  kind_ = Kind::kJson;
}

void Output::set_payload(std::string_view payload) {
  payload_ = payload;
  kind_ = Kind::kPayload;
}

void Output::set_empty() { kind_ = Kind::kEmpty; }

void Output::set_error(std::string message) {
  value_.SetNull();
  error_ = std::move(message);
  kind_ = Kind::kError;
}

void Output::write(std::string* out) const {
  if (kind_ == Kind::kPayload) {
    out->append(payload_);
  } else if (kind_ == Kind::kJson) {
    StringSink sink{*out};
    rapidjson::Writer<StringSink> writer(sink);
    value_.Accept(writer);
  }
}

std::string Output::to_string() const {
  std::string out;
  write(&out);
  return out;
}

}  // namespace shadow::rules::sql
