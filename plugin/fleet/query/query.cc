#include "plugin/fleet/query/query.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "plugin/fleet/query/lexer.h"
#include "plugin/fleet/query/match.h"

namespace shadow::fleet {

struct Node {
  enum class Kind { kAll, kAnd, kOr, kNot, kTerm, kExists, kRange, kCompare };
  Kind kind = Kind::kAll;
  std::vector<std::unique_ptr<Node>> children;  // kAnd, kOr (2+), kNot (1)
  Field field;                                  // the leaves
  Term term;                                    // kTerm
  Bound low, high;                              // kRange; kCompare uses `low`
  CompareOp op = CompareOp::kLess;              // kCompare
  int cost = 0;                                 // 0: no shadow is read
};

namespace {

using Kind = Node::Kind;

std::optional<double> number_of(std::string_view text) {
  if (text.empty()) return std::nullopt;
  // Only what a JSON number may look like (from_chars also takes "inf", "nan", hex).
  for (char c : text)
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  StatusOr<std::unique_ptr<Node>> parse() {
    std::unique_ptr<Node> root = parse_or(nullptr, 0);
    if (!error_.empty()) return Status::invalid_argument(error_);
    if (peek().kind != TokenKind::kEnd) {
      if (peek().kind == TokenKind::kRParen) fail(peek(), "this ')' closes no '('");
      else fail(peek(), "unexpected token");
      return Status::invalid_argument(error_);
    }
    return root;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool failed() const { return !error_.empty(); }

  std::unique_ptr<Node> fail(const Token& at, const std::string& what) {
    if (error_.empty())
      error_ = "syntax error at position " + std::to_string(at.position) + " near " + describe(at) + ": " + what;
    return nullptr;
  }
  std::unique_ptr<Node> fail_field(const Token& at, const std::string& why) {
    if (error_.empty()) error_ = why + " (position " + std::to_string(at.position) + ")";
    return nullptr;
  }

  // Whether `t` can begin a clause (for the implicit AND).
  static bool starts_clause(const Token& t) {
    return t.kind == TokenKind::kWord || t.kind == TokenKind::kPhrase || t.kind == TokenKind::kLParen ||
           t.kind == TokenKind::kNot;
  }

  static std::unique_ptr<Node> combine(Kind kind, std::unique_ptr<Node> left, std::unique_ptr<Node> right) {
    if (left->kind == kind) {
      left->children.push_back(std::move(right));
      return left;
    }
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->children.push_back(std::move(left));
    n->children.push_back(std::move(right));
    return n;
  }

  // `field`: inside field:( ... ), the field bare terms belong to.
  std::unique_ptr<Node> parse_or(const Field* field, int depth) {
    std::unique_ptr<Node> left = parse_and(field, depth);
    while (!failed() && peek().kind == TokenKind::kOr) {
      const Token& op = next();
      if (!starts_clause(peek())) return fail(peek(), "a term must follow " + describe(op));
      std::unique_ptr<Node> right = parse_and(field, depth);
      if (failed()) return nullptr;
      left = combine(Kind::kOr, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<Node> parse_and(const Field* field, int depth) {
    std::unique_ptr<Node> left = parse_unary(field, depth);
    while (!failed()) {
      if (peek().kind == TokenKind::kAnd) {
        const Token& op = next();
        if (!starts_clause(peek())) return fail(peek(), "a term must follow " + describe(op));
      } else if (!starts_clause(peek())) {
        break;
      }
      std::unique_ptr<Node> right = parse_unary(field, depth);
      if (failed()) return nullptr;
      left = combine(Kind::kAnd, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<Node> negate(std::unique_ptr<Node> inner) {
    if (!inner) return nullptr;
    auto n = std::make_unique<Node>();
    n->kind = Kind::kNot;
    n->children.push_back(std::move(inner));
    return n;
  }

  std::unique_ptr<Node> parse_unary(const Field* field, int depth) {
    if (depth > Query::kMaxDepth) return fail(peek(), "the query nests deeper than " + std::to_string(Query::kMaxDepth) + " levels");
    const Token& t = peek();
    if (t.kind == TokenKind::kNot) {
      next();
      if (!starts_clause(peek())) return fail(peek(), "a term must follow 'NOT'");
      return negate(parse_unary(field, depth + 1));
    }
    // "-term" excludes, like NOT (a '-' inside a value, as in temp:-5 or
    // line-7, is part of it).
    if (t.kind == TokenKind::kWord && t.text.size() > 1 && t.text[0] == '-' && t.raw[0] == '-') {
      Token rest = t;
      rest.text.erase(0, 1);
      if (!rest.wild.empty()) rest.wild.erase(rest.wild.begin());
      rest.raw.erase(0, 1);
      rest.position += 1;
      tokens_[pos_] = rest;
      return negate(parse_unary(field, depth + 1));
    }
    return parse_primary(field, depth);
  }

  std::unique_ptr<Node> parse_primary(const Field* field, int depth) {
    const Token& t = next();
    if (t.kind == TokenKind::kLParen) {
      std::unique_ptr<Node> inner = parse_or(field, depth + 1);
      if (failed()) return nullptr;
      if (peek().kind != TokenKind::kRParen) return fail(peek(), "expected ')' to close the '(' at position " + std::to_string(t.position));
      next();
      return inner;
    }
    if (t.kind == TokenKind::kPhrase) return term_node(field, t);
    if (t.kind != TokenKind::kWord) return fail(t, "expected a term, a field or '('");

    // field:value, field op value, or a term of `field` (or of no field).
    TokenKind after = peek().kind;
    if (after == TokenKind::kColon) {
      next();
      Field f;
      if (!resolve_field(t, &f)) return nullptr;
      return parse_value(f, depth);
    }
    if (after == TokenKind::kLess || after == TokenKind::kLessEq || after == TokenKind::kGreater ||
        after == TokenKind::kGreaterEq) {
      Field f;
      if (!resolve_field(t, &f)) return nullptr;
      return parse_compare(f);
    }
    if (field == nullptr && t.text == "*" && t.wild.size() == 1) {
      auto n = std::make_unique<Node>();
      n->kind = Kind::kAll;
      return n;
    }
    return term_node(field, t);
  }

  bool resolve_field(const Token& t, Field* out) {
    if (!t.wild.empty()) {
      fail(t, "a field name cannot contain wildcards");
      return false;
    }
    std::string why;
    std::optional<Field> f = parse_field(t.text, &why);
    if (!f) {
      fail_field(t, why);
      return false;
    }
    *out = std::move(*f);
    return true;
  }

  // After "field:".
  std::unique_ptr<Node> parse_value(const Field& field, int depth) {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::kLParen: {
        next();
        std::unique_ptr<Node> group = parse_or(&field, depth + 1);
        if (failed()) return nullptr;
        if (peek().kind != TokenKind::kRParen) return fail(peek(), "expected ')' to close the '(' at position " + std::to_string(t.position));
        next();
        return group;
      }
      case TokenKind::kLBracket:
      case TokenKind::kLBrace: return parse_range(field);
      case TokenKind::kLess:
      case TokenKind::kLessEq:
      case TokenKind::kGreater:
      case TokenKind::kGreaterEq: return parse_compare(field);
      case TokenKind::kWord: {
        next();
        if (t.text == "*" && t.wild.size() == 1) return leaf(Kind::kExists, field);
        return term_node(&field, t);
      }
      case TokenKind::kPhrase: next(); return term_node(&field, t);
      default: return fail(t, "expected a value after '" + field.name + ":'");
    }
  }

  std::unique_ptr<Node> leaf(Kind kind, const Field& field) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->field = field;
    return n;
  }

  std::unique_ptr<Node> term_node(const Field* field, const Token& t) {
    auto n = leaf(Kind::kTerm, field ? *field : Field{});
    if (n->field.kind == FieldKind::kAny && t.kind == TokenKind::kWord && !t.wild.empty() && t.text.size() == t.wild.size() &&
        std::all_of(t.wild.begin(), t.wild.end(), [](bool w) { return w; }) && t.text.find('?') == std::string::npos) {
      n->kind = Kind::kAll;  // "**" and the like
      return n;
    }
    n->term.text = t.text;
    n->term.lower = lower(t.text);
    n->term.wild = t.wild;
    n->term.phrase = t.kind == TokenKind::kPhrase;
    if (t.wild.empty()) n->term.number = number_of(t.text);
    if (n->term.phrase) n->term.words = split_words(n->term.lower);
    return n;
  }

  // A bound of a range or comparison; `*` is an open end when allowed.
  bool parse_bound(Bound* b, bool open_allowed) {
    const Token& t = next();
    if (t.kind != TokenKind::kWord && t.kind != TokenKind::kPhrase) {
      fail(t, "expected a number or a string");
      return false;
    }
    if (t.kind == TokenKind::kWord && t.text == "*" && t.wild.size() == 1) {
      if (!open_allowed) {
        fail(t, "'*' cannot be compared with");
        return false;
      }
      b->open = true;
      return true;
    }
    if (t.kind == TokenKind::kWord && !t.wild.empty()) {
      fail(t, "a bound cannot contain wildcards");
      return false;
    }
    b->text = t.text;
    b->lower = lower(t.text);
    if (t.kind == TokenKind::kWord) b->number = number_of(t.text);
    return true;
  }

  std::unique_ptr<Node> parse_range(const Field& field) {
    const Token& open = next();
    auto n = leaf(Kind::kRange, field);
    n->low.inclusive = open.kind == TokenKind::kLBracket;
    if (!parse_bound(&n->low, true)) return nullptr;
    if (peek().kind != TokenKind::kTo) return fail(peek(), "expected 'TO' in the range at position " + std::to_string(open.position));
    next();
    if (!parse_bound(&n->high, true)) return nullptr;
    const Token& close = next();
    if (close.kind != TokenKind::kRBracket && close.kind != TokenKind::kRBrace)
      return fail(close, "expected ']' or '}' to close the range at position " + std::to_string(open.position));
    n->high.inclusive = close.kind == TokenKind::kRBracket;
    if (!n->low.open && !n->high.open && n->low.number.has_value() != n->high.number.has_value())
      return fail(open, "a range compares numbers or strings, not both");
    return n;
  }

  std::unique_ptr<Node> parse_compare(const Field& field) {
    const Token& op = next();
    auto n = leaf(Kind::kCompare, field);
    n->op = op.kind == TokenKind::kLess     ? CompareOp::kLess
            : op.kind == TokenKind::kLessEq ? CompareOp::kLessEq
            : op.kind == TokenKind::kGreater ? CompareOp::kGreater
                                             : CompareOp::kGreaterEq;
    if (!parse_bound(&n->low, false)) return nullptr;
    return n;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::string error_;
};

// --- evaluation --------------------------------------------------------------

bool leaf_on_values(const Node& n, const std::vector<const rapidjson::Value*>& values) {
  for (const rapidjson::Value* v : values) {
    switch (n.kind) {
      case Kind::kExists: return true;
      case Kind::kTerm:
        if (term_matches_value(n.term, *v)) return true;
        break;
      case Kind::kRange:
        if (range_matches_value(n.low, n.high, *v)) return true;
        break;
      case Kind::kCompare:
        if (compare_matches_value(n.op, n.low, *v)) return true;
        break;
      default: break;
    }
  }
  return false;
}

// A leaf on a scalar the thing has (thing name, version, connectivity).
bool leaf_on_text(const Node& n, std::string_view text, bool case_sensitive) {
  switch (n.kind) {
    case Kind::kExists: return true;
    case Kind::kTerm: return term_matches_text(n.term, text, case_sensitive);
    case Kind::kRange: return range_matches_text(n.low, n.high, text, case_sensitive);
    case Kind::kCompare: return compare_matches_text(n.op, n.low, text, case_sensitive);
    default: return false;
  }
}

bool leaf_on_number(const Node& n, double value) {
  rapidjson::Value v(value);
  return leaf_on_values(n, {&v});
}

bool leaf_on_bool(const Node& n, bool value) {
  rapidjson::Value v(value);
  return leaf_on_values(n, {&v});
}

// Every scalar of a state section, for terms without a field.
void all_values(const rapidjson::Value& v, std::vector<const rapidjson::Value*>* out) {
  if (v.IsObject()) {
    for (auto& m : v.GetObject()) all_values(m.value, out);
  } else if (!v.IsNull()) {
    out->push_back(&v);
  }
}

bool any_field(const Node& n, ThingView& thing) {
  if (n.kind != Kind::kTerm) return false;
  if (term_matches_text(n.term, thing.name(), false)) return true;
  std::vector<std::string> shadows = thing.named_shadows();
  shadows.insert(shadows.begin(), std::string());
  std::vector<const rapidjson::Value*> values;
  for (const std::string& name : shadows) {
    const ShadowFields* s = thing.shadow(name);
    if (s == nullptr) continue;
    values.clear();
    if (s->desired) all_values(*s->desired, &values);
    if (s->reported) all_values(*s->reported, &values);
    if (leaf_on_values(n, values)) return true;
  }
  return false;
}

bool leaf_matches(const Node& n, ThingView& thing) {
  const Field& f = n.field;
  switch (f.kind) {
    case FieldKind::kAny: return any_field(n, thing);
    case FieldKind::kThingName: return leaf_on_text(n, thing.name(), true);
    case FieldKind::kState: {
      const ShadowFields* s = thing.shadow(f.shadow);
      if (s == nullptr) return false;
      std::vector<const rapidjson::Value*> values;
      state_values(f, *s, &values);
      return leaf_on_values(n, values);
    }
    case FieldKind::kHasDelta: {
      const ShadowFields* s = thing.shadow(f.shadow);
      return s != nullptr && leaf_on_bool(n, s->delta != nullptr);
    }
    case FieldKind::kShadowVersion: {
      const ShadowFields* s = thing.shadow(f.shadow);
      return s != nullptr && leaf_on_number(n, static_cast<double>(s->version));
    }
    case FieldKind::kConnected: {
      const Connectivity* c = thing.connectivity();
      return c != nullptr && leaf_on_bool(n, c->connected);
    }
    case FieldKind::kConnectedAt: {
      const Connectivity* c = thing.connectivity();
      return c != nullptr && leaf_on_number(n, static_cast<double>(c->timestamp_ms));
    }
    case FieldKind::kDisconnectReason: {
      const Connectivity* c = thing.connectivity();
      return c != nullptr && !c->disconnect_reason.empty() && leaf_on_text(n, c->disconnect_reason, false);
    }
  }
  return false;
}

bool evaluate(const Node& n, ThingView& thing) {
  switch (n.kind) {
    case Kind::kAll: return true;
    case Kind::kAnd:
      for (const auto& c : n.children)
        if (!evaluate(*c, thing)) return false;
      return true;
    case Kind::kOr:
      for (const auto& c : n.children)
        if (evaluate(*c, thing)) return true;
      return false;
    case Kind::kNot: return !evaluate(*n.children[0], thing);
    default: return leaf_matches(n, thing);
  }
}

// Costs (0: no shadow read) and cheap-first order of AND/OR operands, so
// thingName conditions reject a thing before its documents are parsed.
int order_by_cost(Node& n) {
  if (n.children.empty()) {
    bool cheap = n.kind == Kind::kAll || n.field.kind == FieldKind::kThingName || n.field.kind == FieldKind::kConnected ||
                 n.field.kind == FieldKind::kConnectedAt || n.field.kind == FieldKind::kDisconnectReason;
    n.cost = cheap ? 0 : 1;
    return n.cost;
  }
  n.cost = 0;
  for (auto& c : n.children) n.cost = std::max(n.cost, order_by_cost(*c));
  std::stable_sort(n.children.begin(), n.children.end(),
                   [](const std::unique_ptr<Node>& a, const std::unique_ptr<Node>& b) { return a->cost < b->cost; });
  return n.cost;
}

// The literal start of a thingName term (up to its first wildcard).
std::string name_prefix(const Node& n) {
  if (n.kind != Kind::kTerm || n.field.kind != FieldKind::kThingName || n.term.phrase) return "";
  size_t end = n.term.text.size();
  for (size_t i = 0; i < n.term.wild.size(); ++i)
    if (n.term.wild[i]) {
      end = i;
      break;
    }
  return n.term.text.substr(0, end);
}

}  // namespace

Query::Query() = default;
Query::Query(Query&&) noexcept = default;
Query& Query::operator=(Query&&) noexcept = default;
Query::~Query() = default;

StatusOr<Query> Query::parse(std::string_view text) {
  if (text.size() > kMaxLength)
    return Status::invalid_argument("the query is " + std::to_string(text.size()) + " bytes long; at most " +
                                    std::to_string(kMaxLength) + " are accepted");
  std::string error;
  auto tokens = tokenize(text, &error);
  if (!tokens) return Status::invalid_argument(error);
  if (tokens->size() == 1) return Status::invalid_argument("the query is empty; use * to match every thing");
  Parser parser(std::move(*tokens));
  auto root = parser.parse();
  if (!root.ok()) return root.status();

  Query q;
  q.text_ = std::string(text);
  q.root_ = std::move(root).value();
  order_by_cost(*q.root_);

  // What evaluation needs, and the named shadows mentioned.
  std::vector<const Node*> stack{q.root_.get()};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (const auto& c : n->children) stack.push_back(c.get());
    const Field& f = n->field;
    if (!n->children.empty() || n->kind == Kind::kAll) continue;
    if (f.kind == FieldKind::kAny) q.needs_all_shadows_ = q.needs_shadows_ = true;
    if (f.kind == FieldKind::kState || f.kind == FieldKind::kHasDelta || f.kind == FieldKind::kShadowVersion)
      q.needs_shadows_ = true;
    if (f.kind == FieldKind::kHasDelta || (f.kind == FieldKind::kState && f.section == Section::kDelta))
      q.needs_delta_ = true;
    if (f.kind == FieldKind::kState && f.section == Section::kMetadata) q.needs_metadata_ = true;
    if (!f.shadow.empty() &&
        std::find(q.named_shadows_.begin(), q.named_shadows_.end(), f.shadow) == q.named_shadows_.end())
      q.named_shadows_.push_back(f.shadow);
  }
  // Named shadows in the order the query mentions them.
  std::vector<std::string> ordered;
  for (size_t at = 0; at < q.text_.size(); ++at) {
    for (const std::string& s : q.named_shadows_) {
      if (std::find(ordered.begin(), ordered.end(), s) != ordered.end()) continue;
      if (q.text_.compare(at, 12 + s.size(), "shadow.name." + s) == 0) ordered.push_back(s);
    }
  }
  for (const std::string& s : q.named_shadows_)
    if (std::find(ordered.begin(), ordered.end(), s) == ordered.end()) ordered.push_back(s);
  q.named_shadows_ = std::move(ordered);

  // A name prefix that every match has: from the root term, or the longest
  // one among the terms of a top-level AND.
  if (q.root_->kind == Kind::kAnd) {
    for (const auto& c : q.root_->children) {
      std::string p = name_prefix(*c);
      if (p.size() > q.thing_prefix_.size()) q.thing_prefix_ = p;
    }
  } else {
    q.thing_prefix_ = name_prefix(*q.root_);
  }
  return q;
}

bool Query::matches(ThingView& thing) const { return evaluate(*root_, thing); }

}  // namespace shadow::fleet
