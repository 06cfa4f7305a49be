// Splits AWS IoT SQL text into tokens, each with its byte offset in the
// text so that errors can name the line and column.
//
// Keywords are case-insensitive; only those that can never be a field name
// are reserved (SELECT, FROM, WHERE, AS, AND, OR, NOT, IN, IS, NULL, TRUE,
// FALSE, CASE, WHEN, THEN, ELSE, END). VALUE, CONTAINS and UNDEFINED are
// identifiers that the parser recognises where they can appear.
// String literals use single or double quotes with JSON's backslash escapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shadow::rules::sql {

enum class TokenKind : uint8_t {
  kEnd,         // end of text
  kError,       // what the lexer could not read; `value` says what is wrong
  kIdentifier,  // field or function name (not a reserved keyword)
  kKeyword,     // a reserved keyword; `keyword` says which
  kInteger,     // `integer`
  kDecimal,     // `decimal`
  kString,      // `value` holds the decoded text
  kPlus, kMinus, kStar, kSlash, kPercent,
  kEq, kNe, kLt, kLe, kGt, kGe,
  kLParen, kRParen, kLBracket, kRBracket, kLBrace, kRBrace,
  kComma, kDot, kColon,
};

enum class Keyword : uint8_t {
  kNone, kSelect, kFrom, kWhere, kAs, kAnd, kOr, kNot, kIn, kIs, kNull, kTrue, kFalse,
  kCase, kWhen, kThen, kElse, kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  Keyword keyword = Keyword::kNone;
  size_t offset = 0;      // byte offset in the text given to tokenize()
  std::string_view text;  // the token as written
  std::string value;      // kString: decoded text; kError: the problem
  int64_t integer = 0;
  double decimal = 0;
};

// Tokens of `text`, ending with kEnd or at the first kError.
std::vector<Token> tokenize(std::string_view text);

// "SELECT", "'a/b'", ... for messages: the token as written, or "end of input".
std::string describe(const Token& token);

}  // namespace shadow::rules::sql
