// Splits a fleet query (docs/fleet.md#query-syntax) into tokens, each with
// its position (1-based, in characters of the query as sent) for error
// messages. Pure code.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shadow::fleet {

enum class TokenKind {
  kEnd,
  kWord,       // a term, a field name, a number; escapes removed
  kPhrase,     // "double quoted"
  kAnd, kOr, kNot, kTo,
  kLParen, kRParen, kColon,
  kLBracket, kRBracket, kLBrace, kRBrace,  // [ ] { } of ranges
  kLess, kLessEq, kGreater, kGreaterEq,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;         // kWord, kPhrase: the value, unescaped
  std::vector<bool> wild;   // kWord: per byte of `text`, an unescaped * or ?; empty if none
  std::string raw;          // as written, for messages
  size_t position = 0;      // 1-based
};

// A description of a token for error messages: 'AND', 'temp', end of query.
std::string describe(const Token& token);

// The tokens of `query` followed by one kEnd, or nullopt and *error (which
// names the position) for an unterminated phrase, a trailing backslash, or
// a character AWS does not allow outside quotes (` @ # % / ' ; ,).
std::optional<std::vector<Token>> tokenize(std::string_view query, std::string* error);

}  // namespace shadow::fleet
