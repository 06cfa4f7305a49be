#include "shadow_core/json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace shadow::json {

size_t invalid_utf8_at(std::string_view s) {
  const auto* begin = reinterpret_cast<const unsigned char*>(s.data());
  const auto* p = begin;
  const auto* end = p + s.size();
  auto here = [&] { return static_cast<size_t>(p - begin); };
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return here();
    }
    if (static_cast<size_t>(end - p) < len) return here();
    for (size_t i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80) return here();
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return here();
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return here();
    p += len;
  }
  return std::string_view::npos;
}

bool is_valid_utf8(std::string_view s) { return invalid_utf8_at(s) == std::string_view::npos; }

namespace {

// Whether a decoded string is UTF-8. Requests are checked to be UTF-8
// before they are parsed, so a decoded string can only be invalid through an
// escaped surrogate, which comes out as ED A0..BF xx: without an 0xED byte
// there is nothing to check.
bool decodes_to_utf8(const char* s, rapidjson::SizeType n) {
  std::string_view text(s, n);
  return text.find('\xED') == std::string_view::npos || is_valid_utf8(text);
}

// Forwards parse events to a document but converts numbers itself.
// RapidJSON 1.1.0's full-precision conversion returns wildly wrong values for
// some integers above 2^64 (18446744073709551615700001000 became 7.2e75,
// through an undefined clz(0)), and its fast conversion can be one unit off.
// Integers that fit 64 bits stay exact; everything else goes through strtod,
// which glibc rounds correctly.
struct NumberConvertingHandler {
  Document& doc;
  bool check_strings;  // refuse strings that decode to invalid UTF-8

  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    std::string_view t(text, length);
    if (t.find_first_of(".eE") == std::string_view::npos) {
      if (t.front() == '-') {
        int64_t v = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec == std::errc() && end == t.data() + t.size()) return doc.Int64(v);
      } else {
        uint64_t v = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec == std::errc() && end == t.data() + t.size()) return doc.Uint64(v);
      }
    }
    std::string terminated(t);
    double d = std::strtod(terminated.c_str(), nullptr);
    if (!std::isfinite(d)) return false;  // 1e400: not representable, invalid
    return doc.Double(d);
  }

  bool Null() { return doc.Null(); }
  bool Bool(bool b) { return doc.Bool(b); }
  bool Int(int i) { return doc.Int(i); }
  bool Uint(unsigned i) { return doc.Uint(i); }
  bool Int64(int64_t i) { return doc.Int64(i); }
  bool Uint64(uint64_t i) { return doc.Uint64(i); }
  bool Double(double d) { return doc.Double(d); }
  // A string's escapes can spell a UTF-16 surrogate that is not half of a
  // pair ("\udc00"); RapidJSON 1.1.0 refuses a lone high surrogate but
  // decodes a lone low one into bytes (ED B0 80) that are not UTF-8. Such
  // text has no UTF-8 form: a request holding it is invalid JSON, or it would
  // be stored and echoed as bytes no JSON reader accepts.
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return (!check_strings || decodes_to_utf8(s, n)) && doc.String(s, n, copy);
  }
  bool StartObject() { return doc.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    return (!check_strings || decodes_to_utf8(s, n)) && doc.Key(s, n, copy);
  }
  bool EndObject(rapidjson::SizeType n) { return doc.EndObject(n); }
  bool StartArray() { return doc.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return doc.EndArray(n); }
};

// Iterative parsing: no recursion, so a 100,000-level document cannot
// overflow the stack.
template <unsigned kExtraFlags, typename Stream>
bool parse_stream(Stream& stream, Document* doc, bool check_strings) {
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag | kExtraFlags;
  bool ok = false;
  auto generate = [&](Document& target) {
    NumberConvertingHandler handler{target, check_strings};
    rapidjson::Reader reader;
    ok = !reader.Parse<kFlags>(stream, handler).IsError();
    return ok;
  };
  doc->Populate(generate);
  return ok;
}

}  // namespace

bool parse(std::string_view text, Document* doc) {
  // RapidJSON takes a NUL byte for the end of input and would ignore what
  // follows; a raw NUL is never valid JSON anyway.
  if (text.find('\0') != std::string_view::npos) return false;
  rapidjson::MemoryStream memory(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
  return parse_stream<rapidjson::kParseNoFlags>(stream, doc, /*check_strings=*/true);
}

bool parse_in_place(std::string& text, Document* doc) {
  // In-situ parsing reads up to the terminating NUL std::string guarantees,
  // so an embedded NUL would hide the rest of the text.
  if (text.find('\0') != std::string::npos) return false;
  rapidjson::InsituStringStream stream(text.data());
  // Stored documents: written by the engine from parsed requests. (Ones
  // stored before requests were checked for escaped lone surrogates stay
  // readable.)
  return parse_stream<rapidjson::kParseInsituFlag>(stream, doc, /*check_strings=*/false);
}

const Value* find_last(const Value& object, std::string_view name) {
  const Value* found = nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it)
    if (view(it->name) == name) found = &it->value;
  return found;
}

namespace {

bool has_duplicate_keys(const Value& object) {
  const rapidjson::SizeType n = object.MemberCount();
  auto members = object.MemberBegin();
  if (n <= 16) {
    for (rapidjson::SizeType i = 0; i < n; ++i)
      for (rapidjson::SizeType j = i + 1; j < n; ++j)
        if (members[i].name == members[j].name) return true;
    return false;
  }
  std::unordered_map<std::string_view, int> seen;
  seen.reserve(n);
  for (rapidjson::SizeType i = 0; i < n; ++i)
    if (!seen.emplace(view(members[i].name), 0).second) return true;
  return false;
}

void dedupe_object(Value& object, Allocator& alloc) {
  if (object.MemberCount() < 2 || !has_duplicate_keys(object)) return;
  auto members = object.MemberBegin();
  const rapidjson::SizeType n = object.MemberCount();
  // Index of the last occurrence of each name. The keys view the names of the
  // first occurrences, which are only moved after their entry is looked up.
  std::unordered_map<std::string_view, rapidjson::SizeType> last;
  last.reserve(n);
  for (rapidjson::SizeType i = 0; i < n; ++i) last[view(members[i].name)] = i;
  Value rebuilt(rapidjson::kObjectType);
  for (rapidjson::SizeType i = 0; i < n; ++i) {
    auto it = last.find(view(members[i].name));
    if (it == last.end()) continue;  // a later duplicate, already taken
    rapidjson::SizeType source = it->second;
    last.erase(it);
    rebuilt.AddMember(members[i].name, members[source].value, alloc);
  }
  object.Swap(rebuilt);
}

}  // namespace

void dedupe_keys(Value& value, Allocator& alloc) {
  if (value.IsObject()) {
    dedupe_object(value, alloc);
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) dedupe_keys(it->value, alloc);
  } else if (value.IsArray()) {
    for (auto& element : value.GetArray()) dedupe_keys(element, alloc);
  }
}

bool equal(const Value& a, const Value& b) {
  if (a.IsNumber() && b.IsNumber()) {
    if (a.IsInt64() && b.IsInt64()) return a.GetInt64() == b.GetInt64();
    if (a.IsUint64() && b.IsUint64()) return a.GetUint64() == b.GetUint64();
    return a.GetDouble() == b.GetDouble();
  }
  if (a.GetType() != b.GetType()) return false;
  switch (a.GetType()) {
    case rapidjson::kNullType:
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return true;
    case rapidjson::kStringType:
      return view(a) == view(b);
    case rapidjson::kArrayType: {
      if (a.Size() != b.Size()) return false;
      for (rapidjson::SizeType i = 0; i < a.Size(); ++i)
        if (!equal(a[i], b[i])) return false;
      return true;
    }
    case rapidjson::kObjectType: {
      if (a.MemberCount() != b.MemberCount()) return false;
      // The finder never modifies `b`; it needs a mutable reference only for append().
      MemberFinder in_b(const_cast<Value&>(b), a.MemberCount());
      for (auto it = a.MemberBegin(); it != a.MemberEnd(); ++it) {
        const Value* other = in_b.find(view(it->name));
        if (!other || !equal(it->value, *other)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

Value* find(Value& object, std::string_view name) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it)
    if (view(it->name) == name) return &it->value;
  return nullptr;
}

const Value* find(const Value& object, std::string_view name) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it)
    if (view(it->name) == name) return &it->value;
  return nullptr;
}

MemberFinder::MemberFinder(Value& object, size_t lookups) : object_(object) {
  if (object.MemberCount() < kScanLimit && lookups < kScanLimit) return;
  indexed_ = true;
  positions_.reserve(object.MemberCount() + lookups);
  for (rapidjson::SizeType i = 0; i < object.MemberCount(); ++i) add(i);
}

void MemberFinder::add(rapidjson::SizeType i) {
  positions_.emplace(std::string(view(object_.MemberBegin()[i].name)), i);
}

Value* MemberFinder::find(std::string_view name) {
  if (!indexed_) return shadow::json::find(object_, name);
  auto it = positions_.find(std::string(name));
  return it == positions_.end() ? nullptr : &object_.MemberBegin()[it->second].value;
}

void MemberFinder::append(std::string_view name, Value&& value, Allocator& alloc) {
  Value key(name.data(), static_cast<rapidjson::SizeType>(name.size()), alloc);
  object_.AddMember(key, value, alloc);
  if (indexed_) add(object_.MemberCount() - 1);
}

void set_member(Value& object, std::string_view name, Value&& value, Allocator& alloc) {
  if (Value* existing = find(object, name)) {
    *existing = std::move(value);
    return;
  }
  Value key(name.data(), static_cast<rapidjson::SizeType>(name.size()), alloc);
  object.AddMember(key, value, alloc);
}

void erase_member(Value& object, std::string_view name) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it)
    if (view(it->name) == name) {
      object.EraseMember(it);
      return;
    }
}

std::string write(const Value& value) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

namespace {
// An output stream that only counts bytes.
struct CountingStream {
  using Ch = char;
  size_t count = 0;
  void Put(char) { ++count; }
  void Flush() {}
};
}  // namespace

size_t compact_size(const Value& value) {
  CountingStream stream;
  rapidjson::Writer<CountingStream> writer(stream);
  value.Accept(writer);
  return stream.count;
}

}  // namespace shadow::json
