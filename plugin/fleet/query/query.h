// A parsed fleet query: the AWS IoT fleet-indexing query language
// (docs/fleet.md#query-syntax) over the fields of field.h, evaluated against
// one thing at a time. Pure code; a Query is immutable once parsed and may be
// evaluated from several threads at once.
//
// The language, briefly:
//   field:term          term: a word, a number, true/false; * and ? are wildcards
//   field:"a phrase"    field:*  (the field exists)
//   field:[lo TO hi]    [ ] inclusive, { } exclusive, * an open end
//   field < x   field <= x   field > x   field >= x
//   term                (no field: the thing name or any state value)
//   *                   every thing
//   a AND b, a b        (AND is the default operator)
//   a OR b, NOT a, -a, ( ... ), field:(a OR -b)   (a group of terms of one field)
// Precedence: NOT binds tighter than AND, AND tighter than OR.
//
// Matching: string values match case-insensitively (ASCII), as a whole or
// word by word (words are separated by white space); thing names match
// case-sensitively. A number term matches numbers of equal value; ranges and
// comparisons are numeric when their bounds are numbers, else they compare
// strings. A field holding an array matches when one of its elements does.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "plugin/fleet/query/field.h"
#include "plugin/fleet/query/thing_view.h"

namespace shadow::fleet {

struct Node;

class Query {
 public:
  // The longest query accepted, in bytes.
  static constexpr size_t kMaxLength = 4096;
  // The deepest nesting of parentheses and NOTs accepted.
  static constexpr int kMaxDepth = 32;

  // An invalid-argument Status whose message says what is wrong and where
  // ("... at position 12 near 'AND' ...") when `text` is not a valid query
  // or names a field mosquitto-shadow does not have.
  static StatusOr<Query> parse(std::string_view text);

  Query(Query&&) noexcept;
  Query& operator=(Query&&) noexcept;
  ~Query();

  bool matches(ThingView& thing) const;

  const std::string& text() const { return text_; }
  // The named shadows the query mentions, in order of first mention: a
  // search result shows these besides the classic shadow.
  const std::vector<std::string>& named_shadows() const { return named_shadows_; }
  // A prefix every matching thing name has ("" when the query does not
  // restrict names that way): from a top-level thingName:prefix* term.
  const std::string& thing_prefix() const { return thing_prefix_; }
  // What evaluation needs of a shadow besides desired and reported state.
  bool needs_delta() const { return needs_delta_; }
  bool needs_metadata() const { return needs_metadata_; }
  // A term without a field searches every shadow of a thing.
  bool needs_all_shadows() const { return needs_all_shadows_; }
  // Whether evaluation reads shadows at all (false for thingName-only queries).
  bool needs_shadows() const { return needs_shadows_; }

 private:
  Query();

  std::string text_;
  std::unique_ptr<Node> root_;
  std::vector<std::string> named_shadows_;
  std::string thing_prefix_;
  bool needs_delta_ = false;
  bool needs_metadata_ = false;
  bool needs_all_shadows_ = false;
  bool needs_shadows_ = false;
};

}  // namespace shadow::fleet
