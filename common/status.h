// Status and StatusOr<T>: how every fallible call in mosquitto-shadow says
// whether it worked. An error is a code (what kind of failure, for the
// caller to act on) and a message (for the log or the operator: what failed
// and, where possible, what to do). Nothing here throws.
//
// Both are [[nodiscard]]: ignoring a result is a compile warning (an error in
// CI). A caller that really means to ignore one writes `(void)`.
//
// What is NOT a Status: a shadow request that the AWS rules refuse (a 400
// "Missing required node: state", a 409 version conflict). That is an answer,
// not a failure, and has its own type, shadow::Rejection (shadow_core/errors.h).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace shadow {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk,
    kNotFound,         // the thing asked for does not exist
    kConflict,         // a compare-and-set found something else than expected
    kInvalidArgument,  // the caller's input is wrong (an option, a file's content)
    kIoError,          // the disk, a socket, a file: the environment failed
    kUnavailable,      // a dependency cannot be reached now; retrying may work
    kInternal,         // a bug or an impossible state
  };

  Status() = default;  // OK
  static Status ok() { return Status(); }
  static Status not_found(std::string message = {}) { return Status(Code::kNotFound, std::move(message)); }
  static Status conflict(std::string message = {}) { return Status(Code::kConflict, std::move(message)); }
  static Status invalid_argument(std::string message) {
    return Status(Code::kInvalidArgument, std::move(message));
  }
  static Status io_error(std::string message) { return Status(Code::kIoError, std::move(message)); }
  static Status unavailable(std::string message) { return Status(Code::kUnavailable, std::move(message)); }
  static Status internal(std::string message) { return Status(Code::kInternal, std::move(message)); }

  bool is_ok() const { return code_ == Code::kOk; }
  bool is_not_found() const { return code_ == Code::kNotFound; }
  bool is_conflict() const { return code_ == Code::kConflict; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // The same error with `context` in front: "opening /var/lib/x: " + message.
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value, or the error that prevented it. Construct from a T (success) or
// from a non-OK Status (failure); value() may only be called when ok().
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.is_ok() && "StatusOr needs a value or an error");
    if (status_.is_ok()) status_ = Status::internal("StatusOr built from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace shadow
