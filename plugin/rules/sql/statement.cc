#include "plugin/rules/sql/statement.h"

#include <utility>

#include "plugin/rules/sql/ast.h"
#include "plugin/rules/sql/evaluator.h"
#include "plugin/rules/sql/operators.h"
#include "plugin/rules/sql/parser.h"
#include "shadow_core/json.h"

namespace shadow::rules::sql {

namespace {

json::Value key_of(const std::string& name, Allocator& alloc) {
  return json::Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), alloc);
}

void set_member(json::Value& object, std::string_view name, json::Value&& value, Allocator& alloc) {
  if (json::Value* existing = json::find(object, name)) {
    *existing = std::move(value);
  } else {
    json::Value key(name.data(), static_cast<rapidjson::SizeType>(name.size()), alloc);
    object.AddMember(key, value, alloc);
  }
}

// Sets name[0].name[1]... in `object` to `value`, replacing what is there
// and creating the intermediate objects (AS a.b).
void set_path(json::Value& object, const std::vector<std::string>& name, json::Value&& value, Allocator& alloc) {
  json::Value* target = &object;
  for (size_t i = 0; i + 1 < name.size(); ++i) {
    json::Value* next = json::find(*target, name[i]);
    if (!next) {
      target->AddMember(key_of(name[i], alloc), json::Value(rapidjson::kObjectType), alloc);
      next = &(target->MemberEnd() - 1)->value;
    } else if (!next->IsObject()) {
      next->SetObject();
    }
    target = next;
  }
  set_member(*target, name.back(), std::move(value), alloc);
}

// Whether an item before position `end` has the output key `name`.
bool named_before(const Query& q, size_t end, std::string_view name) {
  for (size_t i = 0; i < end; ++i)
    if (q.items[i].expr && q.items[i].name.front() == name) return true;
  return false;
}

}  // namespace

Statement::Statement() = default;
Statement::Statement(Statement&&) noexcept = default;
Statement& Statement::operator=(Statement&&) noexcept = default;
Statement::~Statement() = default;

StatusOr<Statement> Statement::compile(std::string_view sql) {
  // A string literal would carry the bytes into a JSON output.
  if (size_t bad = json::invalid_utf8_at(sql); bad != std::string_view::npos)
    return Status::invalid_argument("SQL syntax error at " + position_of(sql, bad) + ": the statement is not valid UTF-8");
  ParseError error;
  std::unique_ptr<Query> query = parse_query(sql, &error);
  if (!query) return Status::invalid_argument("SQL syntax error at " + position_of(sql, error.offset) + ": " + error.message);
  Statement statement;
  statement.sql_ = std::string(sql);
  statement.from_ = TopicFilter(query->from);
  statement.query_ = std::move(query);
  return statement;
}

bool Statement::evaluate(const Payload& payload, EvalContext& context, Output* out) const {
  Allocator& arena = out->begin();
  Evaluator evaluator(payload, context, arena);
  const Query& q = *query_;
  // WHERE first: SELECT runs only for the messages it lets through.
  if (q.where && !is_true(evaluator.eval(*q.where))) return false;

  if (q.select_value) {
    const SelectItem& item = q.items.front();
    if (!item.expr) {
      if (payload.json) {
        out->set_json(to_json(Datum::from_json(*payload.json), arena));
      } else {
        out->set_payload(payload.bytes);
      }
      return true;
    }
    Datum d = evaluator.eval(*item.expr);
    if (d.is_undefined()) {
      out->set_empty();
    } else {
      out->set_json(to_json(d, arena));
    }
    return true;
  }

  bool payload_is_object = payload.json && payload.json->IsObject();
  if (q.has_star && !payload_is_object) {
    // A payload that is not a JSON object has no fields to add to.
    if (q.items.size() == 1) {
      out->set_payload(payload.bytes);
      return true;
    }
    out->set_error("SELECT * with other items needs a payload that is a JSON object");
    return false;
  }
  json::Value result(rapidjson::kObjectType);
  for (size_t i = 0; i < q.items.size(); ++i) {
    const SelectItem& item = q.items[i];
    if (!item.expr) {
      // The payload's members, each replacing an item of the same name
      // before the '*' (items after it replace the member instead).
      const json::Value& object = *payload.json;
      for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
        json::Value value = to_json(Datum::from_json(it->value), arena);
        if (i > 0 && named_before(q, i, json::view(it->name))) {
          set_member(result, json::view(it->name), std::move(value), arena);
        } else {
          result.AddMember(json::Value(it->name.GetString(), it->name.GetStringLength(), arena), value, arena);
        }
      }
      continue;
    }
    Datum d = evaluator.eval(*item.expr);
    if (d.is_undefined()) continue;  // an Undefined value leaves its key out
    json::Value value = to_json(d, arena);
    if (q.keys_may_repeat || item.name.size() > 1) {
      set_path(result, item.name, std::move(value), arena);
    } else {
      result.AddMember(key_of(item.name.front(), arena), value, arena);
    }
  }
  out->set_json(std::move(result));
  return true;
}

}  // namespace shadow::rules::sql
