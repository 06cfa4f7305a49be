#include "plugin/fleet/query/match.h"

namespace shadow::fleet {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// A string value against a term: the whole value, or one of its words; a
// phrase: a run of consecutive words.
bool term_matches_string(const Term& term, std::string_view value) {
  std::string v = lower(value);
  if (term.phrase) {
    if (v == term.lower) return true;
    std::vector<std::string> words = split_words(v);
    if (term.words.empty() || term.words.size() > words.size()) return false;
    for (size_t i = 0; i + term.words.size() <= words.size(); ++i) {
      bool all = true;
      for (size_t j = 0; j < term.words.size() && all; ++j) all = words[i + j] == term.words[j];
      if (all) return true;
    }
    return false;
  }
  auto one = [&](std::string_view candidate) {
    return term.wild.empty() ? candidate == term.lower : glob_match(term.lower, term.wild, candidate);
  };
  if (one(v)) return true;
  bool has_space = false;
  for (char c : v) has_space = has_space || is_space(c);
  if (!has_space) return false;
  for (const std::string& w : split_words(v))
    if (one(w)) return true;
  return false;
}

bool term_matches_scalar(const Term& term, const rapidjson::Value& v) {
  if (v.IsString()) return term_matches_string(term, std::string_view(v.GetString(), v.GetStringLength()));
  if (v.IsNumber()) return term.number.has_value() && v.GetDouble() == *term.number;
  if (v.IsBool()) return !term.phrase && term.wild.empty() && term.lower == (v.GetBool() ? "true" : "false");
  return false;
}

bool is_scalar(const rapidjson::Value& v) { return v.IsString() || v.IsNumber() || v.IsBool(); }

// AWS indexes an array only when every element is a scalar.
template <typename F>
bool on_scalars(const rapidjson::Value& v, F&& f) {
  if (!v.IsArray()) return is_scalar(v) && f(v);
  for (const auto& e : v.GetArray())
    if (!is_scalar(e)) return false;
  for (const auto& e : v.GetArray())
    if (f(e)) return true;
  return false;
}

int compare_numbers(double a, double b) { return a < b ? -1 : (a > b ? 1 : 0); }

bool below_high(int cmp_to_high, const Bound& high) { return high.open || cmp_to_high < 0 || (cmp_to_high == 0 && high.inclusive); }
bool above_low(int cmp_to_low, const Bound& low) { return low.open || cmp_to_low > 0 || (cmp_to_low == 0 && low.inclusive); }

// Ranges are numeric when every bound given is a number (the parser
// rejects a mix of a number and a string).
bool numeric(const Bound& low, const Bound& high) { return (low.open || low.number) && (high.open || high.number); }

bool op_holds(CompareOp op, int cmp) {
  switch (op) {
    case CompareOp::kLess: return cmp < 0;
    case CompareOp::kLessEq: return cmp <= 0;
    case CompareOp::kGreater: return cmp > 0;
    case CompareOp::kGreaterEq: return cmp >= 0;
  }
  return false;
}

int compare_strings(std::string_view a, std::string_view b) { return a < b ? -1 : (a > b ? 1 : 0); }

}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

bool glob_match(std::string_view pattern, const std::vector<bool>& wild, std::string_view text) {
  // Iterative matching with backtracking to the last '*': linear in practice.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  auto is_wild = [&](size_t i, char c) { return i < wild.size() && wild[i] && pattern[i] == c; };
  while (t < text.size()) {
    if (p < pattern.size() && is_wild(p, '*')) {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && (is_wild(p, '?') || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && is_wild(p, '*')) ++p;
  return p == pattern.size();
}

bool term_matches_value(const Term& term, const rapidjson::Value& value) {
  return on_scalars(value, [&](const rapidjson::Value& v) { return term_matches_scalar(term, v); });
}

bool range_matches_value(const Bound& low, const Bound& high, const rapidjson::Value& value) {
  const bool unbounded = low.open && high.open;  // [* TO *]: any number or string
  const bool as_numbers = numeric(low, high);
  return on_scalars(value, [&](const rapidjson::Value& v) {
    if (v.IsNumber() && (as_numbers || unbounded)) {
      double x = v.GetDouble();
      return above_low(low.open ? 1 : compare_numbers(x, *low.number), low) &&
             below_high(high.open ? -1 : compare_numbers(x, *high.number), high);
    }
    if (v.IsString() && (!as_numbers || unbounded)) {
      std::string x = lower(std::string_view(v.GetString(), v.GetStringLength()));
      return above_low(low.open ? 1 : compare_strings(x, low.lower), low) &&
             below_high(high.open ? -1 : compare_strings(x, high.lower), high);
    }
    return false;
  });
}

bool compare_matches_value(CompareOp op, const Bound& operand, const rapidjson::Value& value) {
  return on_scalars(value, [&](const rapidjson::Value& v) {
    if (operand.number) return v.IsNumber() && op_holds(op, compare_numbers(v.GetDouble(), *operand.number));
    if (!v.IsString()) return false;
    return op_holds(op, compare_strings(lower(std::string_view(v.GetString(), v.GetStringLength())), operand.lower));
  });
}

bool term_matches_text(const Term& term, std::string_view text, bool case_sensitive) {
  if (!case_sensitive) return term_matches_string(term, text);
  if (term.phrase) return text == term.text;
  return term.wild.empty() ? text == term.text : glob_match(term.text, term.wild, text);
}

bool range_matches_text(const Bound& low, const Bound& high, std::string_view text, bool case_sensitive) {
  std::string x = case_sensitive ? std::string(text) : lower(text);
  const std::string& lo = case_sensitive ? low.text : low.lower;
  const std::string& hi = case_sensitive ? high.text : high.lower;
  return above_low(low.open ? 1 : compare_strings(x, lo), low) && below_high(high.open ? -1 : compare_strings(x, hi), high);
}

bool compare_matches_text(CompareOp op, const Bound& operand, std::string_view text, bool case_sensitive) {
  std::string x = case_sensitive ? std::string(text) : lower(text);
  return op_holds(op, compare_strings(x, case_sensitive ? operand.text : operand.lower));
}

}  // namespace shadow::fleet
