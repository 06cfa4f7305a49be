// The SQL functions: the table the parser resolves names against (with each
// function's argument count) and their implementations. Names are
// case-insensitive, as on AWS. A function AWS has but this broker does not
// (aws_lambda, get_dynamodb, the regexp_ family, ...) is refused when the
// rule is created, naming the function; docs/rules.md lists both sets.
//
// Functions follow AWS's argument tables: an argument of another type than
// expected goes through the standard conversions (datum.h), and what cannot
// be converted makes the result Undefined.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plugin/rules/sql/datum.h"

namespace shadow::rules::sql {

class EvalContext;

enum class FunctionId : uint8_t {
  kAbs, kAccountId, kAcos, kAsin, kAtan, kAtan2, kBitAnd, kBitNot, kBitOr, kBitXor, kCeil, kChr,
  kClientId, kConcat, kCos, kCosh, kDecode, kEncode, kEndsWith, kExp, kFloor, kGet,
  kGetOrDefault, kGetThingShadow, kIndexOf, kIsNull, kIsUndefined, kLength, kLn, kLog, kLower,
  kLpad, kLtrim, kMod, kNanvl, kNewUuid, kNumBytes, kPower, kPrincipal, kRand, kRemainder,
  kReplace, kRound, kRpad, kRtrim, kSign, kSin, kSinh, kSqlVersion, kSqrt, kStartsWith,
  kSubstring, kTan, kTanh, kTimestamp, kTopic, kTrim, kTrunc, kUpper,
};

inline constexpr uint8_t kAnyNumberOfArguments = 255;

struct FunctionInfo {
  const char* name;  // as AWS's documentation writes it
  FunctionId id;
  uint8_t min_args;
  uint8_t max_args;  // kAnyNumberOfArguments: no limit
};

// The function called `name` (any case), or nullptr.
const FunctionInfo* find_function(std::string_view name);

// True for the name of an AWS IoT SQL function this broker does not
// implement (so the error can say so rather than "no such function").
bool is_unsupported_aws_function(std::string_view name);

// What a function may use besides its arguments.
struct CallEnv {
  EvalContext& context;
  Allocator& arena;     // results (strings, arrays, parsed documents) live here
  std::string& buffer;  // scratch text, reused between calls
};

// Calls function `id` on `args` (already evaluated; the parser checked
// their number).
Datum call_function(FunctionId id, const Datum* args, size_t count, CallEnv& env);

}  // namespace shadow::rules::sql
