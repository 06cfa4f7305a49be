#include "plugin/rules/sql/lexer.h"

#include <charconv>
#include <cmath>

#include "plugin/rules/sql/datum.h"
#include "plugin/rules/sql/encoding.h"

namespace shadow::rules::sql {

namespace {

struct KeywordName {
  const char* name;
  Keyword keyword;
};

constexpr KeywordName kKeywords[] = {
    {"SELECT", Keyword::kSelect}, {"FROM", Keyword::kFrom}, {"WHERE", Keyword::kWhere},
    {"AS", Keyword::kAs},         {"AND", Keyword::kAnd},   {"OR", Keyword::kOr},
    {"NOT", Keyword::kNot},       {"IN", Keyword::kIn},     {"IS", Keyword::kIs},
    {"NULL", Keyword::kNull},     {"TRUE", Keyword::kTrue}, {"FALSE", Keyword::kFalse},
    {"CASE", Keyword::kCase},     {"WHEN", Keyword::kWhen}, {"THEN", Keyword::kThen},
    {"ELSE", Keyword::kElse},     {"END", Keyword::kEnd},
};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::vector<Token> run() {
    std::vector<Token> tokens;
    for (;;) {
      tokens.push_back(next());
      TokenKind kind = tokens.back().kind;
      if (kind == TokenKind::kEnd || kind == TokenKind::kError) return tokens;
    }
  }

 private:
  Token make(TokenKind kind, size_t start) {
    Token t;
    t.kind = kind;
    t.offset = start;
    t.text = text_.substr(start, pos_ - start);
    return t;
  }

  Token error(size_t start, std::string why) {
    Token t = make(TokenKind::kError, start);
    t.value = std::move(why);
    return t;
  }

  Token next() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r'))
      ++pos_;
    size_t start = pos_;
    if (pos_ >= text_.size()) return make(TokenKind::kEnd, start);
    char c = text_[pos_];
    if (is_ident_start(c)) return identifier(start);
    if (is_digit(c)) return number(start);
    if (c == '\'' || c == '"') return string(start, c);
    ++pos_;
    auto peek_is = [&](char next) {
      if (pos_ < text_.size() && text_[pos_] == next) {
        ++pos_;
        return true;
      }
      return false;
    };
    switch (c) {
      case '+': return make(TokenKind::kPlus, start);
      case '-': return make(TokenKind::kMinus, start);
      case '*': return make(TokenKind::kStar, start);
      case '/': return make(TokenKind::kSlash, start);
      case '%': return make(TokenKind::kPercent, start);
      case '=': return make(TokenKind::kEq, start);
      case '<':
        if (peek_is('=')) return make(TokenKind::kLe, start);
        if (peek_is('>')) return make(TokenKind::kNe, start);
        return make(TokenKind::kLt, start);
      case '>':
        if (peek_is('=')) return make(TokenKind::kGe, start);
        return make(TokenKind::kGt, start);
      case '!':
        if (peek_is('=')) return error(start, "'!=' is not an operator of AWS IoT SQL: use '<>'");
        break;
      case '(': return make(TokenKind::kLParen, start);
      case ')': return make(TokenKind::kRParen, start);
      case '[': return make(TokenKind::kLBracket, start);
      case ']': return make(TokenKind::kRBracket, start);
      case '{': return make(TokenKind::kLBrace, start);
      case '}': return make(TokenKind::kRBrace, start);
      case ',': return make(TokenKind::kComma, start);
      case '.': return make(TokenKind::kDot, start);
      case ':': return make(TokenKind::kColon, start);
      default: break;
    }
    // One whole UTF-8 character, so that the message shows it intact.
    while (pos_ < text_.size() && (static_cast<unsigned char>(text_[pos_]) & 0xC0) == 0x80) ++pos_;
    return error(start, "unexpected character '" + std::string(text_.substr(start, pos_ - start)) + "'");
  }

  Token identifier(size_t start) {
    while (pos_ < text_.size() && (is_ident_start(text_[pos_]) || is_digit(text_[pos_]))) ++pos_;
    Token t = make(TokenKind::kIdentifier, start);
    for (const auto& k : kKeywords)
      if (equals_ignore_case(t.text, k.name)) {
        t.kind = TokenKind::kKeyword;
        t.keyword = k.keyword;
      }
    return t;
  }

  Token number(size_t start) {
    bool whole = true;
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    if (pos_ + 1 < text_.size() && text_[pos_] == '.' && is_digit(text_[pos_ + 1])) {
      whole = false;
      ++pos_;
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t e = pos_ + 1;
      if (e < text_.size() && (text_[e] == '+' || text_[e] == '-')) ++e;
      if (e < text_.size() && is_digit(text_[e])) {
        whole = false;
        pos_ = e;
        while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
      }
    }
    if (pos_ < text_.size() && is_ident_start(text_[pos_]))
      return error(start, "a number must not be followed by a letter: " + std::string(text_.substr(start, pos_ - start + 1)));
    Token t = make(TokenKind::kInteger, start);
    const char* end = t.text.data() + t.text.size();
    if (whole) {
      auto [p, ec] = std::from_chars(t.text.data(), end, t.integer);
      if (ec == std::errc() && p == end) return t;
    }
    // A fraction, an exponent, or an integer beyond 64 bits.
    auto [p, ec] = std::from_chars(t.text.data(), end, t.decimal);
    if (ec != std::errc() || p != end || !std::isfinite(t.decimal))
      return error(start, "number out of range: " + std::string(t.text));
    Datum d = Datum::make_decimal(t.decimal);  // 10.0 is the Int 10 in this SQL version
    if (d.type == Type::kInt) {
      t.integer = d.integer;
    } else {
      t.kind = TokenKind::kDecimal;
    }
    return t;
  }

  Token string(size_t start, char quote) {
    ++pos_;
    std::string value;
    for (;;) {
      if (pos_ >= text_.size()) return error(start, "string literal is not closed");
      char c = text_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos_ >= text_.size()) return error(start, "string literal is not closed");
      char e = text_[pos_++];
      switch (e) {
        case '\\': case '\'': case '"': case '/': value += e; break;
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return error(start, "invalid \\u escape in string literal");
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            uint32_t low = 0;
            if (pos_ + 1 < text_.size() && text_[pos_] == '\\' && text_[pos_ + 1] == 'u') {
              pos_ += 2;
              if (!hex4(&low) || low < 0xDC00 || low > 0xDFFF)
                return error(start, "invalid \\u escape in string literal");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              return error(start, "invalid \\u escape in string literal");
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return error(start, "invalid \\u escape in string literal");
          }
          append_utf8(cp, value);
          break;
        }
        default: return error(start, std::string("invalid escape sequence \\") + e + " in string literal");
      }
    }
    Token t = make(TokenKind::kString, start);
    t.value = std::move(value);
    return t;
  }

  bool hex4(uint32_t* cp) {
    if (pos_ + 4 > text_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = hex_value(text_[pos_ + i]);
      if (h < 0) return false;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    pos_ += 4;
    *cp = v;
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<Token> tokenize(std::string_view text) { return Lexer(text).run(); }

std::string describe(const Token& token) {
  if (token.kind == TokenKind::kEnd) return "end of input";
  constexpr size_t kMaxChars = 40;
  size_t cut = char_offset(token.text, kMaxChars);
  std::string text(token.text.substr(0, cut));
  if (cut < token.text.size()) text += "...";
  return "'" + text + "'";
}

}  // namespace shadow::rules::sql
