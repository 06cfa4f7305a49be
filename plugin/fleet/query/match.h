// How one query term, range or comparison matches one value (query.h states
// the rules). Pure code.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace shadow::fleet {

struct Term {
  std::string text;             // as written, escapes removed
  std::string lower;            // ASCII-lowercased text
  std::vector<bool> wild;       // per byte: an unescaped * or ?; empty: no wildcard
  bool phrase = false;          // "double quoted": matches a run of whole words
  std::vector<std::string> words;  // phrase: its lowercased words
  std::optional<double> number;    // the term read as a number, if it is one
};

struct Bound {
  bool open = false;       // *: no bound on this side
  bool inclusive = true;   // [ ] rather than { }; comparisons: unused
  std::string text, lower;
  std::optional<double> number;
};

enum class CompareOp { kLess, kLessEq, kGreater, kGreaterEq };

// The white-space separated words of `text`.
std::vector<std::string> split_words(std::string_view text);

// Glob match of `pattern` (wild marks * and ?) against all of `text`.
bool glob_match(std::string_view pattern, const std::vector<bool>& wild, std::string_view text);

// JSON values: strings by text, numbers by value, booleans by true/false,
// arrays by any scalar element; objects never (only field:* sees them).
bool term_matches_value(const Term& term, const rapidjson::Value& value);
bool range_matches_value(const Bound& low, const Bound& high, const rapidjson::Value& value);
bool compare_matches_value(CompareOp op, const Bound& operand, const rapidjson::Value& value);

// A string the thing has outside its shadows (its name, a disconnect
// reason): as a whole, case-sensitively or not.
bool term_matches_text(const Term& term, std::string_view text, bool case_sensitive);
bool range_matches_text(const Bound& low, const Bound& high, std::string_view text, bool case_sensitive);
bool compare_matches_text(CompareOp op, const Bound& operand, std::string_view text, bool case_sensitive);

}  // namespace shadow::fleet
