#include "plugin/rules/sql/parser.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "plugin/rules/sql/encoding.h"
#include "plugin/rules/sql/lexer.h"
#include "plugin/rules/sql/topic_filter.h"

namespace shadow::rules::sql {

namespace {

struct CastName {
  const char* name;
  Type type;
};

// The type names cast() accepts in SQL version 2016-03-23.
constexpr CastName kCastTypes[] = {
    {"String", Type::kString},  {"Nvarchar", Type::kString}, {"Text", Type::kString},
    {"Ntext", Type::kString},   {"varchar", Type::kString},  {"Int", Type::kInt},
    {"Integer", Type::kInt},    {"Double", Type::kDecimal},  {"Decimal", Type::kDecimal},
    {"Bool", Type::kBoolean},   {"Boolean", Type::kBoolean},
};

std::string arity_text(const FunctionInfo& f) {
  auto plural = [](int n) { return std::to_string(n) + (n == 1 ? " argument" : " arguments"); };
  if (f.max_args == kAnyNumberOfArguments) return "at least " + plural(f.min_args);
  if (f.min_args == f.max_args) return plural(f.min_args);
  return std::to_string(f.min_args) + " to " + plural(f.max_args);
}

class Parser {
 public:
  explicit Parser(std::string_view text) : tokens_(tokenize(text)) {}

  std::unique_ptr<Query> statement() {
    auto query = std::make_unique<Query>();
    if (!expect_keyword(Keyword::kSelect, "SELECT")) return nullptr;
    if (is_word("VALUE") && starts_expression(peek(1))) {
      next();
      query->select_value = true;
    } else if (is_word("SET")) {
      return unsupported(peek(), "the SET clause is not supported by this broker");
    }
    do {
      if (!select_item(*query)) return nullptr;
    } while (accept(TokenKind::kComma));
    if (query->select_value && query->items.size() != 1)
      return fail(query->items[1].offset, "SELECT VALUE takes exactly one expression");
    if (!expect_keyword(Keyword::kFrom, "FROM")) return nullptr;
    const Token& from = peek();
    if (from.kind != TokenKind::kString) return syntax("a topic filter in quotes after FROM");
    std::string why;
    if (!TopicFilter::validate(from.value, &why)) return fail(from.offset, "invalid topic filter in FROM: " + why);
    query->from = from.value;
    query->from_offset = from.offset;
    next();
    if (accept_keyword(Keyword::kWhere)) {
      query->where = expression();
      if (!query->where) return nullptr;
    }
    if (peek().kind != TokenKind::kEnd) return syntax("the end of the statement");
    if (failed_) return nullptr;
    finish_names(*query);
    return query;
  }

  ExprPtr whole_expression() {
    ExprPtr e = expression();
    if (!e) return nullptr;
    if (peek().kind != TokenKind::kEnd) return syntax("the end of the expression");
    if (failed_) return nullptr;
    return e;
  }

  ParseError error() const { return error_; }

 private:
  // ------------------------------------------------------------- tokens
  const Token& peek(size_t ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool accept(TokenKind kind) {
    if (peek().kind != kind) return false;
    next();
    return true;
  }
  bool is_keyword(Keyword k, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kKeyword && peek(ahead).keyword == k;
  }
  bool accept_keyword(Keyword k) {
    if (!is_keyword(k)) return false;
    next();
    return true;
  }
  // A contextual keyword: an identifier spelled `word` in any case.
  bool is_word(const char* word, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kIdentifier && equals_ignore_case(peek(ahead).text, word);
  }
  bool expect(TokenKind kind, const char* what) {
    if (accept(kind)) return true;
    syntax(what);
    return false;
  }
  bool expect_keyword(Keyword k, const char* what) {
    if (accept_keyword(k)) return true;
    syntax(what);
    return false;
  }

  static bool starts_expression(const Token& t) {
    switch (t.kind) {
      case TokenKind::kIdentifier: case TokenKind::kInteger: case TokenKind::kDecimal:
      case TokenKind::kString: case TokenKind::kLParen: case TokenKind::kLBracket:
      case TokenKind::kLBrace: case TokenKind::kMinus: case TokenKind::kStar:
        return true;
      case TokenKind::kKeyword:
        return t.keyword == Keyword::kNot || t.keyword == Keyword::kNull || t.keyword == Keyword::kTrue ||
               t.keyword == Keyword::kFalse || t.keyword == Keyword::kCase;
      default:
        return false;
    }
  }

  // ------------------------------------------------------------- errors
  std::nullptr_t fail(size_t offset, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_.offset = offset;
      error_.message = std::move(message);
    }
    return nullptr;
  }
  std::nullptr_t syntax(const char* expected) {
    const Token& t = peek();
    if (t.kind == TokenKind::kError) return fail(t.offset, t.value);
    return fail(t.offset, std::string("expected ") + expected + " but found " + describe(t));
  }
  std::nullptr_t unsupported(const Token& t, const char* what) { return fail(t.offset, what); }

  // Counts nesting on the way down; too deep is an error, not a crash.
  struct Nest {
    Parser& p;
    explicit Nest(Parser& parser) : p(parser) { ++p.depth_; }
    ~Nest() { --p.depth_; }
    bool too_deep() {
      if (p.depth_ <= kMaxNesting) return false;
      p.fail(p.peek().offset, "expressions are nested more than " + std::to_string(kMaxNesting) + " levels deep");
      return true;
    }
  };

  ExprPtr node(ExprKind kind, size_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->offset = offset;
    return e;
  }
  // Makes `child` a child of `e`; false (and an error) when the tree gets
  // taller than kMaxHeight, which bounds the evaluator's recursion.
  bool adopt(Expr& e, ExprPtr child) {
    e.height = std::max(e.height, child->height + 1);
    e.children.push_back(std::move(child));
    if (e.height <= kMaxHeight) return true;
    fail(e.offset, "the expression is too complex: its tree is more than " + std::to_string(kMaxHeight) +
                       " levels deep");
    return false;
  }

  ExprPtr unary_node(ExprKind kind, size_t offset, ExprPtr child) {
    ExprPtr e = node(kind, offset);
    adopt(*e, std::move(child));
    return e;
  }

  // ------------------------------------------------------------- SELECT
  bool select_item(Query& query) {
    SelectItem item;
    item.offset = peek().offset;
    if (accept(TokenKind::kStar)) {
      query.has_star = true;
      query.items.push_back(std::move(item));
      return true;
    }
    item.expr = expression();
    if (!item.expr) return false;
    if (accept_keyword(Keyword::kAs)) {
      if (query.select_value) {
        fail(peek().offset, "SELECT VALUE takes no AS: its value is the whole output");
        return false;
      }
      do {
        const Token& name = peek();
        if (name.kind != TokenKind::kIdentifier && name.kind != TokenKind::kKeyword && name.kind != TokenKind::kString) {
          syntax("a name after AS");
          return false;
        }
        if (item.name.size() == kMaxNesting) {
          fail(name.offset, "an AS name has more than " + std::to_string(kMaxNesting) + " levels");
          return false;
        }
        item.name.push_back(name.kind == TokenKind::kString ? name.value : std::string(name.text));
        next();
      } while (accept(TokenKind::kDot));
    }
    query.items.push_back(std::move(item));
    return true;
  }

  // Output keys of items without AS: a field's or member's last name, a
  // function's name, otherwise _1, _2, ... by position.
  static void finish_names(Query& query) {
    std::vector<std::string_view> seen;
    for (size_t i = 0; i < query.items.size(); ++i) {
      SelectItem& item = query.items[i];
      if (!item.expr) continue;
      if (item.name.empty()) {
        const Expr& e = *item.expr;
        if ((e.kind == ExprKind::kField || e.kind == ExprKind::kMember) && !e.path.empty()) {
          item.name.push_back(e.path.back());
        } else if (e.kind == ExprKind::kCall) {
          item.name.push_back(e.text);
        } else if (e.kind == ExprKind::kCast) {
          item.name.push_back("cast");
        } else {
          item.name.push_back("_" + std::to_string(i + 1));
        }
      }
      for (std::string_view s : seen)
        if (s == item.name.front()) query.keys_may_repeat = true;
      seen.push_back(item.name.front());
    }
    if (query.has_star && query.items.size() > 1) query.keys_may_repeat = true;
  }

  // ------------------------------------------------------------- expressions
  ExprPtr expression() {
    Nest nest(*this);
    if (nest.too_deep()) return nullptr;
    ExprPtr left = conjunction();
    while (left && is_keyword(Keyword::kOr)) {
      size_t at = next().offset;
      left = binary(BinaryOp::kOr, at, std::move(left), conjunction());
    }
    return left;
  }

  ExprPtr conjunction() {
    ExprPtr left = negation();
    while (left && is_keyword(Keyword::kAnd)) {
      size_t at = next().offset;
      left = binary(BinaryOp::kAnd, at, std::move(left), negation());
    }
    return left;
  }

  ExprPtr negation() {
    if (is_keyword(Keyword::kNot)) {
      Nest nest(*this);
      if (nest.too_deep()) return nullptr;
      size_t at = next().offset;
      ExprPtr operand = negation();
      if (!operand) return nullptr;
      return unary_node(ExprKind::kNot, at, std::move(operand));
    }
    return comparison();
  }

  ExprPtr binary(BinaryOp op, size_t offset, ExprPtr left, ExprPtr right) {
    if (!left || !right) return nullptr;
    ExprPtr e = node(ExprKind::kBinary, offset);
    e->op = op;
    // Chains (a + b + c ...) grow the tree without nesting: stop them here.
    if (!adopt(*e, std::move(left)) || !adopt(*e, std::move(right))) return nullptr;
    return e;
  }

  ExprPtr comparison() {
    ExprPtr left = sum();
    if (!left) return nullptr;
    const Token& t = peek();
    BinaryOp op;
    switch (t.kind) {
      case TokenKind::kEq: op = BinaryOp::kEq; break;
      case TokenKind::kNe: op = BinaryOp::kNe; break;
      case TokenKind::kLt: op = BinaryOp::kLt; break;
      case TokenKind::kLe: op = BinaryOp::kLe; break;
      case TokenKind::kGt: op = BinaryOp::kGt; break;
      case TokenKind::kGe: op = BinaryOp::kGe; break;
      default: return special_comparison(std::move(left));
    }
    size_t at = next().offset;
    return binary(op, at, std::move(left), sum());
  }

  // [NOT] IN, CONTAINS, IS [NOT] NULL|UNDEFINED, or nothing.
  ExprPtr special_comparison(ExprPtr left) {
    size_t at = peek().offset;
    if (is_keyword(Keyword::kIn) || (is_keyword(Keyword::kNot) && is_keyword(Keyword::kIn, 1))) {
      bool negated = accept_keyword(Keyword::kNot);
      next();  // IN
      ExprPtr set = in_operand();
      if (!set) return nullptr;
      ExprPtr e = node(ExprKind::kIn, at);
      e->negated = negated;
      adopt(*e, std::move(left));
      adopt(*e, std::move(set));
      return e;
    }
    if (is_word("CONTAINS")) {
      next();
      ExprPtr right = sum();
      if (!right) return nullptr;
      ExprPtr e = node(ExprKind::kContains, at);
      adopt(*e, std::move(left));
      adopt(*e, std::move(right));
      return e;
    }
    if (accept_keyword(Keyword::kIs)) {
      bool negated = accept_keyword(Keyword::kNot);
      ExprKind kind;
      if (accept_keyword(Keyword::kNull)) {
        kind = ExprKind::kIsNull;
      } else if (is_word("UNDEFINED")) {
        next();
        kind = ExprKind::kIsUndefined;
      } else {
        return syntax("NULL or UNDEFINED after IS");
      }
      ExprPtr e = node(kind, at);
      e->negated = negated;
      adopt(*e, std::move(left));
      return e;
    }
    return left;
  }

  // The right side of IN: an expression giving an Array (AWS's form), or a
  // parenthesised list of two or more expressions, as in standard SQL.
  ExprPtr in_operand() {
    list_allowed_ = true;
    return sum();
  }

  ExprPtr sum() {
    ExprPtr left = product();
    while (left && (peek().kind == TokenKind::kPlus || peek().kind == TokenKind::kMinus)) {
      const Token& t = next();
      BinaryOp op = t.kind == TokenKind::kPlus ? BinaryOp::kAdd : BinaryOp::kSub;
      left = binary(op, t.offset, std::move(left), product());
    }
    return left;
  }

  ExprPtr product() {
    ExprPtr left = unary();
    for (;;) {
      if (!left) return nullptr;
      TokenKind k = peek().kind;
      BinaryOp op;
      if (k == TokenKind::kStar) {
        op = BinaryOp::kMul;
      } else if (k == TokenKind::kSlash) {
        op = BinaryOp::kDiv;
      } else if (k == TokenKind::kPercent) {
        op = BinaryOp::kMod;
      } else {
        return left;
      }
      size_t at = next().offset;
      left = binary(op, at, std::move(left), unary());
    }
  }

  ExprPtr unary() {
    if (peek().kind != TokenKind::kMinus) return postfix();
    Nest nest(*this);
    if (nest.too_deep()) return nullptr;
    size_t at = next().offset;
    ExprPtr operand = unary();
    if (!operand) return nullptr;
    // -5 is the literal -5, so that -9223372036854775808 stays an Int.
    if (operand->kind == ExprKind::kLiteral && operand->literal.is_number()) {
      Datum d = operand->literal;
      if (d.type == Type::kInt && d.integer != INT64_MIN) {
        operand->literal = Datum::of_int(-d.integer);
      } else {
        operand->literal = Datum::make_decimal(-d.as_double());
      }
      operand->offset = at;
      return operand;
    }
    return unary_node(ExprKind::kNegate, at, std::move(operand));
  }

  ExprPtr postfix() {
    ExprPtr e = primary();
    while (e && peek().kind == TokenKind::kDot) {
      next();
      const Token& name = peek();
      if (name.kind != TokenKind::kIdentifier && name.kind != TokenKind::kKeyword) return syntax("a field name after '.'");
      next();
      if (e->kind != ExprKind::kField && e->kind != ExprKind::kMember) {
        size_t at = e->offset;
        e = unary_node(ExprKind::kMember, at, std::move(e));
      }
      e->path.emplace_back(name.text);
    }
    return e;
  }

  ExprPtr primary() {
    bool list_ok = std::exchange(list_allowed_, false);
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::kInteger: {
        next();
        ExprPtr e = node(ExprKind::kLiteral, t.offset);
        e->literal = Datum::of_int(t.integer);
        return e;
      }
      case TokenKind::kDecimal: {
        next();
        ExprPtr e = node(ExprKind::kLiteral, t.offset);
        e->literal = Datum::make_decimal(t.decimal);
        return e;
      }
      case TokenKind::kString: {
        next();
        ExprPtr e = node(ExprKind::kLiteral, t.offset);
        e->literal = Datum::of_string({});
        e->text = t.value;
        return e;
      }
      case TokenKind::kKeyword:
        return keyword_primary();
      case TokenKind::kIdentifier: {
        if (peek(1).kind == TokenKind::kLParen) return call();
        next();
        ExprPtr e = node(ExprKind::kField, t.offset);
        e->path.emplace_back(t.text);
        return e;
      }
      case TokenKind::kLParen: {
        if (is_keyword(Keyword::kSelect, 1))
          return unsupported(peek(1), "nested object queries (SELECT inside parentheses) are not supported by this broker");
        next();
        ExprPtr e = expression();
        if (!e) return nullptr;
        if (list_ok && peek().kind == TokenKind::kComma) return list(t.offset, std::move(e));
        if (!expect(TokenKind::kRParen, "')'")) return nullptr;
        return e;
      }
      case TokenKind::kLBracket: return array_literal();
      case TokenKind::kLBrace: return object_literal();
      case TokenKind::kStar:
        return fail(t.offset, "'*' (the whole payload) is allowed only as a SELECT item or a function argument");
      default:
        return syntax("an expression");
    }
  }

  ExprPtr keyword_primary() {
    const Token& t = next();
    ExprPtr e = node(ExprKind::kLiteral, t.offset);
    switch (t.keyword) {
      case Keyword::kTrue: e->literal = Datum::of_bool(true); return e;
      case Keyword::kFalse: e->literal = Datum::of_bool(false); return e;
      case Keyword::kNull: e->literal = Datum::null(); return e;
      case Keyword::kCase: return case_expression(t.offset);
      default:
        --pos_;
        return syntax("an expression");
    }
  }

  ExprPtr call() {
    const Token& name = next();
    next();  // (
    if (equals_ignore_case(name.text, "cast")) return cast(name);
    const FunctionInfo* f = find_function(name.text);
    if (!f) {
      std::string fn(name.text);
      if (is_unsupported_aws_function(name.text))
        return fail(name.offset, "function " + fn + " is not supported by this broker (docs/rules.md lists the functions it has)");
      return fail(name.offset, "function " + fn + " is not supported: AWS IoT SQL has no function of that name");
    }
    ExprPtr e = node(ExprKind::kCall, name.offset);
    e->function = f->id;
    e->text = std::string(name.text);
    if (!accept(TokenKind::kRParen)) {
      do {
        if (peek().kind == TokenKind::kStar &&
            (peek(1).kind == TokenKind::kComma || peek(1).kind == TokenKind::kRParen)) {
          adopt(*e, node(ExprKind::kPayload, next().offset));
          continue;
        }
        ExprPtr arg = expression();
        if (!arg) return nullptr;
        adopt(*e, std::move(arg));
      } while (accept(TokenKind::kComma));
      if (!expect(TokenKind::kRParen, "',' or ')' after a function argument")) return nullptr;
    }
    size_t n = e->children.size();
    if (n < f->min_args || (f->max_args != kAnyNumberOfArguments && n > f->max_args))
      return fail(name.offset, "function " + std::string(f->name) + " takes " + arity_text(*f) + ", not " +
                                   std::to_string(n));
    return e;
  }

  ExprPtr cast(const Token& name) {
    ExprPtr e = node(ExprKind::kCast, name.offset);
    ExprPtr value = expression();
    if (!value) return nullptr;
    adopt(*e, std::move(value));
    if (!expect_keyword(Keyword::kAs, "AS and a type in cast()")) return nullptr;
    const Token& type = peek();
    if (type.kind == TokenKind::kIdentifier)
      for (const auto& c : kCastTypes)
        if (equals_ignore_case(type.text, c.name)) e->cast_to = c.type;
    if (e->cast_to == Type::kUndefined)
      return fail(type.offset, "cast() cannot convert to " + describe(type) +
                                   ": use String, Int, Decimal or Boolean (or Nvarchar, Text, Ntext, varchar, "
                                   "Integer, Double, Bool)");
    next();
    if (!expect(TokenKind::kRParen, "')' after the type in cast()")) return nullptr;
    return e;
  }

  // (first, ...) after IN: the rest of the list, as an Array.
  ExprPtr list(size_t offset, ExprPtr first) {
    ExprPtr e = node(ExprKind::kArray, offset);
    adopt(*e, std::move(first));
    while (accept(TokenKind::kComma)) {
      ExprPtr item = expression();
      if (!item) return nullptr;
      adopt(*e, std::move(item));
    }
    if (!expect(TokenKind::kRParen, "',' or ')' in the IN list")) return nullptr;
    return e;
  }

  ExprPtr array_literal() {
    ExprPtr e = node(ExprKind::kArray, next().offset);
    if (accept(TokenKind::kRBracket)) return e;
    do {
      ExprPtr item = expression();
      if (!item) return nullptr;
      adopt(*e, std::move(item));
    } while (accept(TokenKind::kComma));
    if (!expect(TokenKind::kRBracket, "',' or ']' in the array")) return nullptr;
    return e;
  }

  ExprPtr object_literal() {
    ExprPtr e = node(ExprKind::kObject, next().offset);
    if (accept(TokenKind::kRBrace)) return e;
    do {
      const Token& key = peek();
      if (key.kind == TokenKind::kString) {
        e->keys.push_back(key.value);
      } else if (key.kind == TokenKind::kIdentifier || key.kind == TokenKind::kKeyword) {
        e->keys.emplace_back(key.text);
      } else {
        return syntax("a key (a string) in the object");
      }
      next();
      if (!expect(TokenKind::kColon, "':' after the key")) return nullptr;
      ExprPtr value = expression();
      if (!value) return nullptr;
      adopt(*e, std::move(value));
    } while (accept(TokenKind::kComma));
    if (!expect(TokenKind::kRBrace, "',' or '}' in the object")) return nullptr;
    return e;
  }

  ExprPtr case_expression(size_t offset) {
    ExprPtr e = node(ExprKind::kCase, offset);
    ExprPtr subject = expression();
    if (!subject) return nullptr;
    adopt(*e, std::move(subject));
    if (!is_keyword(Keyword::kWhen)) return syntax("WHEN after CASE and its expression");
    while (accept_keyword(Keyword::kWhen)) {
      ExprPtr when = expression();
      if (!when || !expect_keyword(Keyword::kThen, "THEN")) return nullptr;
      ExprPtr then = expression();
      if (!then) return nullptr;
      adopt(*e, std::move(when));
      adopt(*e, std::move(then));
    }
    if (accept_keyword(Keyword::kElse)) {
      ExprPtr otherwise = expression();
      if (!otherwise) return nullptr;
      adopt(*e, std::move(otherwise));
      e->has_else = true;
    }
    if (!expect_keyword(Keyword::kEnd, "WHEN, ELSE or END")) return nullptr;
    return e;
  }

  std::vector<Token> tokens_;
  bool list_allowed_ = false;  // the next primary may be a list (a, b): the right side of IN
  size_t pos_ = 0;
  int depth_ = 0;
  bool failed_ = false;
  ParseError error_;
};

}  // namespace

std::unique_ptr<Query> parse_query(std::string_view sql, ParseError* error) {
  Parser parser(sql);
  std::unique_ptr<Query> query = parser.statement();
  if (!query) *error = parser.error();
  return query;
}

ExprPtr parse_expression(std::string_view text, ParseError* error) {
  Parser parser(text);
  ExprPtr e = parser.whole_expression();
  if (!e) *error = parser.error();
  return e;
}

std::string position_of(std::string_view text, size_t offset) {
  if (offset > text.size()) offset = text.size();
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < offset; ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  size_t column = count_chars(text.substr(line_start, offset - line_start)) + 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace shadow::rules::sql
