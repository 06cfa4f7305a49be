#include "plugin/fleet/query/lexer.h"

namespace shadow::fleet {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Characters that end a word (they are tokens of their own).
bool is_delimiter(char c) {
  return is_space(c) || c == '(' || c == ')' || c == ':' || c == '<' || c == '>' || c == '[' || c == ']' ||
         c == '{' || c == '}' || c == '"';
}

bool is_unsupported(char c) {
  return c == '`' || c == '@' || c == '#' || c == '%' || c == '/' || c == '\'' || c == ';' || c == ',';
}

std::string at(size_t position) { return "position " + std::to_string(position); }

}  // namespace

std::string describe(const Token& token) {
  if (token.kind == TokenKind::kEnd) return "the end of the query";
  return "'" + token.raw + "'";
}

std::optional<std::vector<Token>> tokenize(std::string_view q, std::string* error) {
  std::vector<Token> tokens;
  size_t i = 0;
  auto single = [&](TokenKind kind, size_t length) {
    Token t;
    t.kind = kind;
    t.raw = std::string(q.substr(i, length));
    t.position = i + 1;
    tokens.push_back(std::move(t));
    i += length;
  };
  while (i < q.size()) {
    char c = q[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    switch (c) {
      case '(': single(TokenKind::kLParen, 1); continue;
      case ')': single(TokenKind::kRParen, 1); continue;
      case ':': single(TokenKind::kColon, 1); continue;
      case '[': single(TokenKind::kLBracket, 1); continue;
      case ']': single(TokenKind::kRBracket, 1); continue;
      case '{': single(TokenKind::kLBrace, 1); continue;
      case '}': single(TokenKind::kRBrace, 1); continue;
      case '<':
        single(i + 1 < q.size() && q[i + 1] == '=' ? TokenKind::kLessEq : TokenKind::kLess,
               i + 1 < q.size() && q[i + 1] == '=' ? 2 : 1);
        continue;
      case '>':
        single(i + 1 < q.size() && q[i + 1] == '=' ? TokenKind::kGreaterEq : TokenKind::kGreater,
               i + 1 < q.size() && q[i + 1] == '=' ? 2 : 1);
        continue;
      default: break;
    }
    Token t;
    t.position = i + 1;
    size_t start = i;
    if (c == '"') {
      t.kind = TokenKind::kPhrase;
      ++i;
      bool closed = false;
      while (i < q.size()) {
        if (q[i] == '\\') {
          if (i + 1 >= q.size()) break;
          t.text += q[i + 1];
          i += 2;
        } else if (q[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          t.text += q[i++];
        }
      }
      if (!closed) {
        *error = "unterminated phrase: the double quote at " + at(t.position) + " has no closing quote";
        return std::nullopt;
      }
    } else {
      t.kind = TokenKind::kWord;
      bool escaped_any = false;
      while (i < q.size() && !is_delimiter(q[i])) {
        char d = q[i];
        if (d == '\\') {
          if (i + 1 >= q.size()) {
            *error = "the backslash at " + at(i + 1) + " escapes nothing (end of the query)";
            return std::nullopt;
          }
          escaped_any = true;
          t.text += q[i + 1];
          if (!t.wild.empty()) t.wild.push_back(false);
          i += 2;
          continue;
        }
        if (is_unsupported(d)) {
          *error = std::string("the character '") + d + "' at " + at(i + 1) +
                   " is not allowed in a query; put the value in double quotes";
          return std::nullopt;
        }
        if (d == '*' || d == '?') {
          if (t.wild.empty()) t.wild.assign(t.text.size(), false);
          t.wild.push_back(true);
        } else if (!t.wild.empty()) {
          t.wild.push_back(false);
        }
        t.text += d;
        ++i;
      }
      if (!escaped_any) {
        if (t.text == "AND") t.kind = TokenKind::kAnd;
        else if (t.text == "OR") t.kind = TokenKind::kOr;
        else if (t.text == "NOT") t.kind = TokenKind::kNot;
        else if (t.text == "TO") t.kind = TokenKind::kTo;
      }
    }
    t.raw = std::string(q.substr(start, i - start));
    tokens.push_back(std::move(t));
  }
  Token end;
  end.position = q.size() + 1;
  tokens.push_back(end);
  return tokens;
}

}  // namespace shadow::fleet
