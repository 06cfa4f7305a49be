#include "plugin/rules/sql/functions.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <new>
#include <random>

#include "plugin/rules/sql/encoding.h"
#include "plugin/rules/sql/eval_context.h"
#include "plugin/rules/sql/operators.h"
#include "plugin/rules/sql/payload.h"

namespace shadow::rules::sql {

namespace {

constexpr uint8_t kAny = kAnyNumberOfArguments;

constexpr FunctionInfo kFunctions[] = {
    {"abs", FunctionId::kAbs, 1, 1},
    {"accountid", FunctionId::kAccountId, 0, 0},
    {"acos", FunctionId::kAcos, 1, 1},
    {"asin", FunctionId::kAsin, 1, 1},
    {"atan", FunctionId::kAtan, 1, 1},
    {"atan2", FunctionId::kAtan2, 2, 2},
    {"bitand", FunctionId::kBitAnd, 2, 2},
    {"bitnot", FunctionId::kBitNot, 1, 1},
    {"bitor", FunctionId::kBitOr, 2, 2},
    {"bitxor", FunctionId::kBitXor, 2, 2},
    {"ceil", FunctionId::kCeil, 1, 1},
    {"chr", FunctionId::kChr, 1, 1},
    {"clientid", FunctionId::kClientId, 0, 0},
    {"concat", FunctionId::kConcat, 0, kAny},
    {"cos", FunctionId::kCos, 1, 1},
    {"cosh", FunctionId::kCosh, 1, 1},
    {"decode", FunctionId::kDecode, 2, 2},
    {"encode", FunctionId::kEncode, 2, 2},
    {"endswith", FunctionId::kEndsWith, 2, 2},
    {"exp", FunctionId::kExp, 1, 1},
    {"floor", FunctionId::kFloor, 1, 1},
    {"get", FunctionId::kGet, 2, 2},
    {"get_or_default", FunctionId::kGetOrDefault, 2, 2},
    {"get_thing_shadow", FunctionId::kGetThingShadow, 2, 3},
    {"indexof", FunctionId::kIndexOf, 2, 2},
    {"isNull", FunctionId::kIsNull, 1, 1},
    {"isUndefined", FunctionId::kIsUndefined, 1, 1},
    {"length", FunctionId::kLength, 1, 1},
    {"ln", FunctionId::kLn, 1, 1},
    {"log", FunctionId::kLog, 1, 1},
    {"lower", FunctionId::kLower, 1, 1},
    {"lpad", FunctionId::kLpad, 2, 2},
    {"ltrim", FunctionId::kLtrim, 1, 1},
    {"mod", FunctionId::kMod, 2, 2},
    {"nanvl", FunctionId::kNanvl, 2, 2},
    {"newuuid", FunctionId::kNewUuid, 0, 0},
    {"numbytes", FunctionId::kNumBytes, 1, 1},
    {"power", FunctionId::kPower, 2, 2},
    {"principal", FunctionId::kPrincipal, 0, 0},
    {"rand", FunctionId::kRand, 0, 0},
    {"remainder", FunctionId::kRemainder, 2, 2},
    {"replace", FunctionId::kReplace, 3, 3},
    {"round", FunctionId::kRound, 1, 1},
    {"rpad", FunctionId::kRpad, 2, 2},
    {"rtrim", FunctionId::kRtrim, 1, 1},
    {"sign", FunctionId::kSign, 1, 1},
    {"sin", FunctionId::kSin, 1, 1},
    {"sinh", FunctionId::kSinh, 1, 1},
    {"sql_version", FunctionId::kSqlVersion, 0, 0},
    {"sqrt", FunctionId::kSqrt, 1, 1},
    {"startswith", FunctionId::kStartsWith, 2, 2},
    {"substring", FunctionId::kSubstring, 2, 3},
    {"tan", FunctionId::kTan, 1, 1},
    {"tanh", FunctionId::kTanh, 1, 1},
    {"timestamp", FunctionId::kTimestamp, 0, 0},
    {"topic", FunctionId::kTopic, 0, 1},
    {"trim", FunctionId::kTrim, 1, 1},
    {"trunc", FunctionId::kTrunc, 2, 2},
    {"upper", FunctionId::kUpper, 1, 1},
};

// AWS IoT SQL functions this broker does not implement: they need AWS
// services (Lambda, DynamoDB, Secrets Manager, the registry, ML), MQTT 5
// properties of the triggering message, Java's date and regular expression
// libraries, or hashing.
constexpr const char* kUnsupported[] = {
    "aws_lambda",     "get_dynamodb",       "get_mqtt_property", "get_registry_data", "get_secret",
    "get_user_properties", "machinelearning_predict", "md2", "md5", "sha1", "sha224", "sha256",
    "sha384",         "sha512",             "parse_time",        "time_to_epoch",     "regexp_matches",
    "regexp_replace", "regexp_substr",      "sourceip",          "traceid",           "transform",
};

Datum make_string(std::string_view s, Allocator& arena) { return Datum::of_string(arena_copy(s, arena)); }

// The argument as a String (standard conversion); nullopt for Null and
// Undefined, which make string functions Undefined.
std::optional<std::string_view> text_of(const Datum& d, CallEnv& env) {
  Datum s = to_string(d, env.arena);
  if (s.is_undefined()) return std::nullopt;
  return s.string;
}

Datum math(const Datum& arg, double (*fn)(double)) {
  std::optional<Datum> n = to_number(arg);
  if (!n) return Datum();
  return Datum::make_decimal(fn(n->as_double()));
}

Datum math2(const Datum& a, const Datum& b, double (*fn)(double, double)) {
  std::optional<Datum> x = to_number(a), y = to_number(b);
  if (!x || !y) return Datum();
  return Datum::make_decimal(fn(x->as_double(), y->as_double()));
}

// ceil, floor, round: an Int stays as it is.
Datum rounding(const Datum& arg, double (*fn)(double)) {
  std::optional<Datum> n = to_number(arg);
  if (!n) return Datum();
  if (n->type == Type::kInt) return *n;
  return Datum::make_decimal(fn(n->decimal));
}

Datum bitwise(FunctionId id, const Datum& a, const Datum& b) {
  std::optional<int64_t> x = to_index(a), y = to_index(b);
  if (!x || !y) return Datum();
  switch (id) {
    case FunctionId::kBitAnd: return Datum::of_int(*x & *y);
    case FunctionId::kBitOr: return Datum::of_int(*x | *y);
    default: return Datum::of_int(*x ^ *y);
  }
}

Datum abs_of(const Datum& arg) {
  std::optional<Datum> n = to_number(arg);
  if (!n) return Datum();
  if (n->type == Type::kInt && n->integer != INT64_MIN) return Datum::of_int(n->integer < 0 ? -n->integer : n->integer);
  return Datum::make_decimal(std::fabs(n->as_double()));
}

Datum sign_of(const Datum& arg) {
  std::optional<Datum> n = to_number(arg);
  if (!n) return Datum();
  double v = n->as_double();
  return Datum::of_int(v > 0 ? 1 : v < 0 ? -1 : 0);
}

// trunc(x, places): cuts the decimal text, so 0.29 keeps its digits (x * 100
// in binary floating point is 28.999...).
Datum trunc_of(const Datum& value, const Datum& places) {
  std::optional<Datum> n = to_number(value);
  std::optional<int64_t> p = to_index(places);
  if (!n || !p) return Datum();
  if (n->type == Type::kInt) return *n;
  int64_t keep = std::clamp<int64_t>(*p, 0, 34);
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n->decimal, std::chars_format::fixed);
  if (ec != std::errc()) return Datum();
  std::string_view text(buf, static_cast<size_t>(end - buf));
  size_t dot = text.find('.');
  if (dot != std::string_view::npos) text = text.substr(0, keep == 0 ? dot : std::min(text.size(), dot + 1 + keep));
  double d = 0;
  auto [tend, tec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (tec != std::errc()) return Datum();
  return Datum::make_decimal(d);
}

Datum concat(const Datum* args, size_t n, CallEnv& env) {
  if (n == 0) return Datum();
  bool any_array = false;
  for (size_t i = 0; i < n; ++i) {
    if (args[i].is_undefined()) return Datum();
    any_array |= args[i].type == Type::kArray;
  }
  if (n == 1 && any_array) return args[0];
  if (any_array) {
    auto* array = new (env.arena.Malloc(sizeof(json::Value))) json::Value(rapidjson::kArrayType);
    for (size_t i = 0; i < n; ++i) {
      if (args[i].type == Type::kArray) {
        for (const auto& e : args[i].json->GetArray()) array->PushBack(to_json(Datum::from_json(e), env.arena), env.arena);
      } else {
        array->PushBack(to_json(args[i], env.arena), env.arena);
      }
    }
    return Datum::of_container(*array);
  }
  env.buffer.clear();
  for (size_t i = 0; i < n; ++i)
    if (!append_string(args[i], env.buffer)) return Datum();
  return make_string(env.buffer, env.arena);
}

Datum get_of(const Datum& container, const Datum& key, CallEnv& env) {
  if (container.type == Type::kObject) {
    if (key.type != Type::kString) return Datum();
    const json::Value* v = json::find_last(*container.json, key.string);
    return v ? Datum::from_json(*v) : Datum();
  }
  if (container.type != Type::kArray && container.type != Type::kString) return Datum();
  std::optional<int64_t> i = to_index(key);
  if (!i || *i < 0) return Datum();
  if (container.type == Type::kArray) {
    if (static_cast<uint64_t>(*i) >= container.json->Size()) return Datum();
    return Datum::from_json((*container.json)[static_cast<rapidjson::SizeType>(*i)]);
  }
  std::string_view s = container.string;
  size_t start = char_offset(s, static_cast<size_t>(*i));
  if (start >= s.size()) return Datum();
  size_t end = char_offset(s, static_cast<size_t>(*i) + 1);
  (void)env;
  return Datum::of_string(s.substr(start, end - start));
}

Datum substring_of(const Datum* args, size_t n, CallEnv& env) {
  std::optional<std::string_view> s = text_of(args[0], env);
  std::optional<int64_t> from = to_index(args[1]);
  if (!s || !from) return Datum();
  int64_t length = static_cast<int64_t>(count_chars(*s));
  int64_t to = length;
  if (n == 3) {
    std::optional<int64_t> t = to_index(args[2]);
    if (!t) return Datum();
    to = *t;
  }
  int64_t a = std::clamp<int64_t>(*from, 0, length), b = std::clamp<int64_t>(to, 0, length);
  if (a >= b) return Datum::of_string({});
  size_t start = char_offset(*s, static_cast<size_t>(a));
  size_t end = char_offset(*s, static_cast<size_t>(b));
  return Datum::of_string(s->substr(start, end - start));
}

Datum change_case(const Datum& arg, bool upper, CallEnv& env) {
  std::optional<std::string_view> s = text_of(arg, env);
  if (!s) return Datum();
  env.buffer.assign(*s);
  for (char& c : env.buffer) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return make_string(env.buffer, env.arena);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

Datum trim_of(const Datum& arg, bool left, bool right, CallEnv& env) {
  std::optional<std::string_view> s = text_of(arg, env);
  if (!s) return Datum();
  std::string_view t = *s;
  while (left && !t.empty() && is_space(t.front())) t.remove_prefix(1);
  while (right && !t.empty() && is_space(t.back())) t.remove_suffix(1);
  return Datum::of_string(t);
}

Datum pad_of(const Datum& arg, const Datum& count, bool left, CallEnv& env) {
  std::optional<std::string_view> s = text_of(arg, env);
  std::optional<int64_t> n = to_index(count);
  if (!s || !n) return Datum();
  size_t spaces = static_cast<size_t>(std::clamp<int64_t>(*n, 0, 1000));
  env.buffer.clear();
  if (left) env.buffer.append(spaces, ' ');
  env.buffer.append(*s);
  if (!left) env.buffer.append(spaces, ' ');
  return make_string(env.buffer, env.arena);
}

Datum affix_test(const Datum& a, const Datum& b, bool prefix, CallEnv& env) {
  std::optional<std::string_view> s = text_of(a, env), part = text_of(b, env);
  if (!s || !part) return Datum();
  bool yes = part->size() <= s->size() &&
             (prefix ? s->substr(0, part->size()) == *part : s->substr(s->size() - part->size()) == *part);
  return Datum::of_bool(yes);
}

Datum indexof_of(const Datum& a, const Datum& b, CallEnv& env) {
  std::optional<std::string_view> s = text_of(a, env), part = text_of(b, env);
  if (!s || !part) return Datum();
  size_t at = s->find(*part);
  if (at == std::string_view::npos) return Datum::of_int(-1);
  return Datum::of_int(static_cast<int64_t>(count_chars(s->substr(0, at))));
}

Datum replace_of(const Datum* args, CallEnv& env) {
  std::optional<std::string_view> s = text_of(args[0], env), from = text_of(args[1], env), to = text_of(args[2], env);
  if (!s || !from || !to) return Datum();
  if (from->empty()) return Datum::of_string(*s);
  env.buffer.clear();
  size_t i = 0;
  for (size_t at; (at = s->find(*from, i)) != std::string_view::npos; i = at + from->size()) {
    env.buffer.append(s->substr(i, at - i));
    env.buffer.append(*to);
  }
  env.buffer.append(s->substr(i));
  return make_string(env.buffer, env.arena);
}

Datum chr_of(const Datum& arg) {
  std::optional<int64_t> code = to_index(arg);
  if (!code || *code < 0 || *code > 127) return Datum();
  // A view needs storage that outlives the call: one byte per ASCII code.
  static const std::array<char, 128> kAscii = [] {
    std::array<char, 128> table{};
    for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<char>(i);
    return table;
  }();
  return Datum::of_string(std::string_view(&kAscii[static_cast<size_t>(*code)], 1));
}

bool is_base64_scheme(const Datum& scheme) {
  return scheme.type == Type::kString && equals_ignore_case(scheme.string, "base64");
}

Datum encode_of(const Datum& value, const Datum& scheme, CallEnv& env) {
  if (!is_base64_scheme(scheme)) return Datum();
  std::optional<std::string_view> s = text_of(value, env);
  if (!s) return Datum();
  return make_string(base64_encode(*s), env.arena);
}

// A decoded JSON document becomes a value the SQL can address
// (decode(x, 'base64').temperature); other bytes a String; invalid base64 Null.
// Bytes that are not UTF-8 become U+FFFD, one per byte, as a JVM decoding
// them would: a string must be able to go into a JSON output.
Datum decode_of(const Datum& value, const Datum& scheme, CallEnv& env) {
  if (!is_base64_scheme(scheme)) return Datum();
  std::optional<std::string_view> s = text_of(value, env);
  if (!s) return Datum();
  std::string decoded;
  if (!base64_decode(*s, &decoded)) return Datum::null();
  decoded = replace_invalid_utf8(decoded);
  json::Document doc(&env.arena);
  if (!decoded.empty() && json::parse(decoded, &doc) && within_depth(doc, kMaxPayloadDepth)) {
    auto* root = new (env.arena.Malloc(sizeof(json::Value))) json::Value();
    root->Swap(doc);
    return Datum::from_json(*root);
  }
  return make_string(decoded, env.arena);
}

// get_thing_shadow(thing[, shadow], roleArn): the role is accepted for
// compatibility and not used (docs/rules.md).
Datum thing_shadow(const Datum* args, size_t n, CallEnv& env) {
  std::optional<std::string_view> thing = text_of(args[0], env);
  std::optional<std::string_view> shadow = n == 3 ? text_of(args[1], env) : std::string_view();
  if (!thing || !shadow || thing->empty()) return Datum();
  auto* doc = new (env.arena.Malloc(sizeof(json::Value))) json::Value();
  if (!env.context.get_thing_shadow(*thing, *shadow, doc, env.arena)) return Datum();
  if (!within_depth(*doc, kMaxPayloadDepth)) return Datum();
  return Datum::from_json(*doc);
}

Datum topic_of(const Datum* args, size_t n, CallEnv& env) {
  std::string_view topic = env.context.topic();
  if (n == 0) return Datum::of_string(arena_copy(topic, env.arena));
  std::optional<int64_t> level = to_index(args[0]);
  if (!level || *level < 1) return Datum();
  size_t start = 0;
  for (int64_t i = 1; i < *level; ++i) {
    size_t slash = topic.find('/', start);
    if (slash == std::string_view::npos) return Datum();
    start = slash + 1;
  }
  size_t end = topic.find('/', start);
  return make_string(topic.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start),
                     env.arena);
}

Datum optional_text(std::string_view s, Allocator& arena) {
  return s.empty() ? Datum() : Datum::of_string(arena_copy(s, arena));
}

double random_unit() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

}  // namespace

const FunctionInfo* find_function(std::string_view name) {
  for (const auto& f : kFunctions)
    if (equals_ignore_case(name, f.name)) return &f;
  return nullptr;
}

bool is_unsupported_aws_function(std::string_view name) {
  for (const char* f : kUnsupported)
    if (equals_ignore_case(name, f)) return true;
  return false;
}

Datum call_function(FunctionId id, const Datum* args, size_t n, CallEnv& env) {
  switch (id) {
    case FunctionId::kAbs: return abs_of(args[0]);
    case FunctionId::kAccountId: return optional_text(env.context.account_id(), env.arena);
    case FunctionId::kAcos: return math(args[0], [](double x) { return std::acos(x); });
    case FunctionId::kAsin: return math(args[0], [](double x) { return std::asin(x); });
    case FunctionId::kAtan: return math(args[0], [](double x) { return std::atan(x); });
    case FunctionId::kAtan2: return math2(args[0], args[1], [](double y, double x) { return std::atan2(y, x); });
    case FunctionId::kBitAnd:
    case FunctionId::kBitOr:
    case FunctionId::kBitXor: return bitwise(id, args[0], args[1]);
    case FunctionId::kBitNot: {
      std::optional<int64_t> x = to_index(args[0]);
      return x ? Datum::of_int(~*x) : Datum();
    }
    case FunctionId::kCeil: return rounding(args[0], [](double x) { return std::ceil(x); });
    case FunctionId::kChr: return chr_of(args[0]);
    case FunctionId::kClientId: return optional_text(env.context.client_id(), env.arena);
    case FunctionId::kConcat: return concat(args, n, env);
    case FunctionId::kCos: return math(args[0], [](double x) { return std::cos(x); });
    case FunctionId::kCosh: return math(args[0], [](double x) { return std::cosh(x); });
    case FunctionId::kDecode: return decode_of(args[0], args[1], env);
    case FunctionId::kEncode: return encode_of(args[0], args[1], env);
    case FunctionId::kEndsWith: return affix_test(args[0], args[1], false, env);
    case FunctionId::kExp: return math(args[0], [](double x) { return std::exp(x); });
    case FunctionId::kFloor: return rounding(args[0], [](double x) { return std::floor(x); });
    case FunctionId::kGet: return get_of(args[0], args[1], env);
    case FunctionId::kGetOrDefault: return (args[0].is_undefined() || args[0].is_null()) ? args[1] : args[0];
    case FunctionId::kGetThingShadow: return thing_shadow(args, n, env);
    case FunctionId::kIndexOf: return indexof_of(args[0], args[1], env);
    case FunctionId::kIsNull: return Datum::of_bool(args[0].is_null());
    case FunctionId::kIsUndefined: return Datum::of_bool(args[0].is_undefined());
    case FunctionId::kLength: {
      std::optional<std::string_view> s = text_of(args[0], env);
      return s ? Datum::of_int(static_cast<int64_t>(count_chars(*s))) : Datum();
    }
    case FunctionId::kLn: return math(args[0], [](double x) { return std::log(x); });
    case FunctionId::kLog: return math(args[0], [](double x) { return std::log10(x); });
    case FunctionId::kLower: return change_case(args[0], false, env);
    case FunctionId::kLpad: return pad_of(args[0], args[1], true, env);
    case FunctionId::kLtrim: return trim_of(args[0], true, false, env);
    case FunctionId::kMod:
    case FunctionId::kRemainder: return apply_binary(BinaryOp::kMod, args[0], args[1], env.arena, env.buffer);
    case FunctionId::kNanvl: return (args[0].is_undefined() || args[0].is_null()) ? args[1] : args[0];
    case FunctionId::kNewUuid: return make_string(env.context.new_uuid(), env.arena);
    case FunctionId::kNumBytes: {
      std::optional<std::string_view> s = text_of(args[0], env);
      return s ? Datum::of_int(static_cast<int64_t>(s->size())) : Datum();
    }
    case FunctionId::kPower: return math2(args[0], args[1], [](double x, double y) { return std::pow(x, y); });
    case FunctionId::kPrincipal: return optional_text(env.context.principal(), env.arena);
    case FunctionId::kRand: return Datum::make_decimal(random_unit());
    case FunctionId::kReplace: return replace_of(args, env);
    case FunctionId::kRound: return rounding(args[0], [](double x) { return std::round(x); });
    case FunctionId::kRpad: return pad_of(args[0], args[1], false, env);
    case FunctionId::kRtrim: return trim_of(args[0], false, true, env);
    case FunctionId::kSign: return sign_of(args[0]);
    case FunctionId::kSin: return math(args[0], [](double x) { return std::sin(x); });
    case FunctionId::kSinh: return math(args[0], [](double x) { return std::sinh(x); });
    case FunctionId::kSqlVersion: return Datum::of_string("2016-03-23");
    case FunctionId::kSqrt: return math(args[0], [](double x) { return std::sqrt(x); });
    case FunctionId::kStartsWith: return affix_test(args[0], args[1], true, env);
    case FunctionId::kSubstring: return substring_of(args, n, env);
    case FunctionId::kTan: return math(args[0], [](double x) { return std::tan(x); });
    case FunctionId::kTanh: return math(args[0], [](double x) { return std::tanh(x); });
    case FunctionId::kTimestamp: return Datum::of_int(env.context.timestamp_ms());
    case FunctionId::kTopic: return topic_of(args, n, env);
    case FunctionId::kTrim: return trim_of(args[0], true, true, env);
    case FunctionId::kTrunc: return trunc_of(args[0], args[1]);
    case FunctionId::kUpper: return change_case(args[0], true, env);
  }
  return Datum();
}

}  // namespace shadow::rules::sql
