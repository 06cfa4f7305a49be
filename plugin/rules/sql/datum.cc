#include "plugin/rules/sql/datum.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "plugin/rules/sql/encoding.h"

namespace shadow::rules::sql {

const char* type_name(Type type) {
  switch (type) {
    case Type::kUndefined: return "Undefined";
    case Type::kNull: return "Null";
    case Type::kBoolean: return "Boolean";
    case Type::kInt: return "Int";
    case Type::kDecimal: return "Decimal";
    case Type::kString: return "String";
    case Type::kArray: return "Array";
    case Type::kObject: return "Object";
  }
  return "Undefined";
}

Datum Datum::null() {
  Datum d;
  d.type = Type::kNull;
  return d;
}

Datum Datum::of_bool(bool b) {
  Datum d;
  d.type = Type::kBoolean;
  d.boolean = b;
  return d;
}

Datum Datum::of_int(int64_t i) {
  Datum d;
  d.type = Type::kInt;
  d.integer = i;
  return d;
}

Datum Datum::make_decimal(double v) {
  if (!std::isfinite(v)) return Datum();
  // [-2^63, 2^63): the doubles that convert to int64_t exactly.
  if (v == std::trunc(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0)
    return of_int(static_cast<int64_t>(v));
  Datum d;
  d.type = Type::kDecimal;
  d.decimal = v;
  return d;
}

Datum Datum::of_string(std::string_view s) {
  Datum d;
  d.type = Type::kString;
  d.string = s;
  return d;
}

Datum Datum::of_container(const json::Value& value) {
  Datum d;
  d.type = value.IsArray() ? Type::kArray : Type::kObject;
  d.json = &value;
  return d;
}

Datum Datum::from_json(const json::Value& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType: return null();
    case rapidjson::kFalseType: return of_bool(false);
    case rapidjson::kTrueType: return of_bool(true);
    case rapidjson::kStringType: return of_string(json::view(value));
    case rapidjson::kArrayType:
    case rapidjson::kObjectType: return of_container(value);
    case rapidjson::kNumberType:
      if (value.IsInt64()) return of_int(value.GetInt64());
      return make_decimal(value.GetDouble());
  }
  return Datum();
}

namespace {

// AWS converts strings matching ^-?\d+(\.\d+)?([eE]-?\d+)?$ to numbers.
bool is_numeric_text(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digits()) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && s[i] == '-') ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

std::optional<Datum> parse_number(std::string_view s) {
  if (!is_numeric_text(s)) return std::nullopt;
  const char* end = s.data() + s.size();
  int64_t i = 0;
  auto [iend, iec] = std::from_chars(s.data(), end, i);
  if (iec == std::errc() && iend == end) return Datum::of_int(i);
  double d = 0;
  auto [dend, dec] = std::from_chars(s.data(), end, d);
  if (dec == std::errc::result_out_of_range) {
    // Underflow is zero; overflow is beyond what a double holds.
    size_t e = s.find_first_of("eE");
    if (e != std::string_view::npos && s[e + 1] == '-') return Datum::of_int(0);
    return std::nullopt;
  }
  if (dec != std::errc() || dend != end) return std::nullopt;
  Datum result = Datum::make_decimal(d);
  if (result.is_undefined()) return std::nullopt;
  return result;
}

// Writes JSON text the way the SQL engine shows values: numbers with the
// Int/Decimal rule, so that [10.0] prints as [10] as it would be selected.
template <typename Writer>
void write_json(const json::Value& v, Writer& w) {
  switch (v.GetType()) {
    case rapidjson::kNullType: w.Null(); break;
    case rapidjson::kFalseType: w.Bool(false); break;
    case rapidjson::kTrueType: w.Bool(true); break;
    case rapidjson::kStringType: w.String(v.GetString(), v.GetStringLength()); break;
    case rapidjson::kNumberType: {
      Datum d = Datum::from_json(v);
      if (d.type == Type::kInt) {
        w.Int64(d.integer);
      } else {
        w.Double(v.GetDouble());
      }
      break;
    }
    case rapidjson::kArrayType:
      w.StartArray();
      for (const auto& e : v.GetArray()) write_json(e, w);
      w.EndArray();
      break;
    case rapidjson::kObjectType:
      w.StartObject();
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        w.Key(it->name.GetString(), it->name.GetStringLength());
        write_json(it->value, w);
      }
      w.EndObject();
      break;
  }
}

struct StringSink {
  using Ch = char;
  std::string& out;
  void Put(char c) { out.push_back(c); }
  void Flush() {}
};

json::Value copy_json(const json::Value& v, Allocator& alloc) {
  switch (v.GetType()) {
    case rapidjson::kNumberType: return to_json(Datum::from_json(v), alloc);
    case rapidjson::kStringType: return json::Value(v.GetString(), v.GetStringLength(), alloc);
    case rapidjson::kArrayType: {
      json::Value out(rapidjson::kArrayType);
      out.Reserve(v.Size(), alloc);
      for (const auto& e : v.GetArray()) out.PushBack(copy_json(e, alloc), alloc);
      return out;
    }
    case rapidjson::kObjectType: {
      json::Value out(rapidjson::kObjectType);
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        json::Value key(it->name.GetString(), it->name.GetStringLength(), alloc);
        out.AddMember(key, copy_json(it->value, alloc), alloc);
      }
      return out;
    }
    default: {
      json::Value out;
      out.CopyFrom(v, alloc);  // null, true, false: nothing to allocate
      return out;
    }
  }
}

}  // namespace

std::optional<Datum> to_number(const Datum& d) {
  switch (d.type) {
    case Type::kInt:
    case Type::kDecimal: return d;
    case Type::kString: return parse_number(d.string);
    default: return std::nullopt;
  }
}

std::optional<int64_t> to_index(const Datum& d) {
  std::optional<Datum> n = to_number(d);
  if (!n) return std::nullopt;
  if (n->type == Type::kInt) return n->integer;
  double f = std::floor(n->decimal);
  if (f < -9.2e18) return INT64_MIN;
  if (f > 9.2e18) return INT64_MAX;
  return static_cast<int64_t>(f);
}

std::optional<bool> to_boolean(const Datum& d) {
  if (d.type == Type::kBoolean) return d.boolean;
  if (d.type != Type::kString) return std::nullopt;
  if (equals_ignore_case(d.string, "true")) return true;
  if (equals_ignore_case(d.string, "false")) return false;
  return std::nullopt;
}

size_t format_decimal(double d, char* buf, size_t size) {
  char tmp[64];
  auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, d);
  if (ec != std::errc()) return 0;
  std::string_view text(tmp, static_cast<size_t>(end - tmp));
  size_t n = 0;
  auto put = [&](char c) {
    if (n < size) buf[n] = c;
    ++n;
  };
  size_t e = text.find('e');
  for (size_t i = 0; i < std::min(e, text.size()); ++i) put(text[i]);
  if (e != std::string_view::npos) {
    put('E');
    size_t i = e + 1;
    if (text[i] == '-' || text[i] == '+') put(text[i++]);
    while (i + 1 < text.size() && text[i] == '0') ++i;  // 1e-07 -> 1E-7
    for (; i < text.size(); ++i) put(text[i]);
  }
  return n <= size ? n : 0;
}

bool append_string(const Datum& d, std::string& out) {
  switch (d.type) {
    case Type::kUndefined:
    case Type::kNull: return false;
    case Type::kBoolean: out += d.boolean ? "true" : "false"; return true;
    case Type::kInt: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d.integer);
      out.append(buf, end);
      return true;
    }
    case Type::kDecimal: {
      char buf[64];
      out.append(buf, format_decimal(d.decimal, buf, sizeof buf));
      return true;
    }
    case Type::kString: out.append(d.string); return true;
    case Type::kArray:
    case Type::kObject: {
      StringSink sink{out};
      rapidjson::Writer<StringSink> writer(sink);
      write_json(*d.json, writer);
      return true;
    }
  }
  return false;
}

std::string_view arena_copy(std::string_view text, Allocator& arena) {
  if (text.empty()) return std::string_view("", 0);
  char* p = static_cast<char*>(arena.Malloc(text.size()));
  std::memcpy(p, text.data(), text.size());
  return {p, text.size()};
}

Datum to_string(const Datum& d, Allocator& arena) {
  if (d.type == Type::kString) return d;
  thread_local std::string buffer;
  buffer.clear();
  if (!append_string(d, buffer)) return Datum();
  return Datum::of_string(arena_copy(buffer, arena));
}

json::Value to_json(const Datum& d, Allocator& alloc) {
  switch (d.type) {
    case Type::kUndefined:
    case Type::kNull: return json::Value();
    case Type::kBoolean: return json::Value(d.boolean);
    case Type::kInt: return json::Value(static_cast<int64_t>(d.integer));
    case Type::kDecimal: return json::Value(d.decimal);
    case Type::kString:
      // An empty view may have no data pointer, which RapidJSON would memcpy from.
      if (d.string.empty()) return json::Value("", 0, alloc);
      return json::Value(d.string.data(), static_cast<rapidjson::SizeType>(d.string.size()), alloc);
    case Type::kArray:
    case Type::kObject: return copy_json(*d.json, alloc);
  }
  return json::Value();
}

}  // namespace shadow::rules::sql
