// search, fleet-update, fleet-status, fleet-cancel and history: the fleet
// features over the REST API (docs/fleet.md, docs/shadowctl.md).
#include <rapidjson/document.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <thread>
#include <tuple>

#include "tools/shadowctl/commands.h"
#include "tools/shadowctl/exit_codes.h"
#include "tools/shadowctl/fleet_api.h"
#include "tools/shadowctl/json_input.h"
#include "tools/shadowctl/progress.h"
#include "tools/shadowctl/table.h"

namespace shadowctl {
namespace {

constexpr size_t kMaxCell = 60;
constexpr auto kPollInterval = std::chrono::milliseconds(200);

volatile std::sig_atomic_t g_interrupted = 0;
void on_interrupt(int) { g_interrupted = 1; }

bool parse(const std::string& text, rapidjson::Document* doc) {
  doc->Parse(text.c_str(), text.size());
  return !doc->HasParseError();
}

std::string compact(const rapidjson::Value& v) { return compact_json(v); }

std::string str(const rapidjson::Value& obj, const char* key) {
  auto m = obj.FindMember(key);
  if (m == obj.MemberEnd()) return "";
  if (m->value.IsString()) return m->value.GetString();
  return compact(m->value);
}

uint64_t num(const rapidjson::Value& obj, const char* key) {
  auto m = obj.FindMember(key);
  return m != obj.MemberEnd() && m->value.IsUint64() ? m->value.GetUint64() : 0;
}

// A value at a dotted path below `root` ("reported.temp"), as text; "" when absent.
std::string at_path(const rapidjson::Value& root, const std::string& path) {
  const rapidjson::Value* v = &root;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!v->IsObject()) return "";
    auto m = v->FindMember(key.c_str());
    if (m == v->MemberEnd()) return "";
    v = &m->value;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return v->IsString() ? v->GetString() : compact(*v);
}

std::string local_time(int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// The shadow field the search table shows for a --field PATH: "reported.temp",
// "desired.mode", "delta.x" or "name.cfg.reported.x".
std::string column_value(const rapidjson::Value& shadow, const std::string& path) {
  return shadow.IsObject() ? at_path(shadow, path) : "";
}

// Explains a failed fleet call: a missing operation or a conflict is
// explained by the broker's message itself; the rest as for any call.
int report_fleet_failure(const Context& ctx, const HttpResponse& r) {
  if (r.status == 404 && r.error_type == "ResourceNotFoundException") {
    ctx.out.error(error_message(r));
    ctx.out.hint("list the fleet updates with: shadowctl fleet-status");
    return exit_code_for_status(r.status);
  }
  if (r.status == 409 || (r.status == 400 && r.error_type == "InvalidQueryException")) {
    ctx.out.error(error_message(r));
    if (r.status == 400) ctx.out.hint("the query language is described in docs/fleet.md#query-syntax");
    return exit_code_for_status(r.status);
  }
  return report_failure(ctx, r, nullptr);
}

}  // namespace

// --- search ----------------------------------------------------------------

int cmd_search(Context& ctx) {
  const CommandArgs& a = ctx.args();
  FleetApi api(ctx.http);
  if (a.count_only || !a.stats_field.empty()) {
    HttpResponse r = api.statistics(a.query, a.stats_field);
    if (!r.ok()) return report_fleet_failure(ctx, r);
    rapidjson::Document doc;
    if (!parse(r.body, &doc) || !doc.IsObject() || !doc.HasMember("statistics")) {
      ctx.out.error("the answer is not a GetStatistics document: " + r.body.substr(0, 200));
      return kExitServerError;
    }
    if (ctx.out.json()) {
      ctx.out.document(doc["statistics"]);
      return kExitOk;
    }
    const rapidjson::Value& s = doc["statistics"];
    if (a.count_only && a.stats_field.empty()) {
      ctx.out.line(std::to_string(num(s, "count")));
      return kExitOk;
    }
    Table t({"STATISTIC", "VALUE"});
    for (const char* k : {"count", "average", "sum", "minimum", "maximum", "sumOfSquares", "variance", "stdDeviation"})
      if (s.HasMember(k)) t.add({k, str(s, k)});
    std::fputs(t.render(kMaxCell, ctx.out.stdout_color()).c_str(), stdout);
    return kExitOk;
  }

  std::vector<std::string> headers = {"THING", "VERSION", "DELTA"};
  for (const std::string& c : a.columns) headers.push_back(c);
  if (a.columns.empty()) headers.push_back("REPORTED");
  Table table(headers);
  rapidjson::Document all(rapidjson::kObjectType);
  rapidjson::Value things(rapidjson::kArrayType);
  auto& alloc = all.GetAllocator();
  std::string token;
  size_t shown = 0;
  bool more = false;
  const size_t limit = a.limit > 0 ? static_cast<size_t>(a.limit) : SIZE_MAX;
  ProgressBar bar(ctx.out.stderr_is_terminal() && !ctx.out.json(), "things");
  while (true) {
    int page = a.page_size > 0 ? a.page_size : 0;
    if (limit != SIZE_MAX) page = static_cast<int>(std::min<size_t>(limit - shown, page > 0 ? page : 500));
    HttpResponse r = api.search(a.query, page, token);
    if (!r.ok()) {
      bar.clear();
      return report_fleet_failure(ctx, r);
    }
    rapidjson::Document doc;
    if (!parse(r.body, &doc) || !doc.IsObject() || !doc.HasMember("things") || !doc["things"].IsArray()) {
      bar.clear();
      ctx.out.error("the answer is not a SearchIndex document: " + r.body.substr(0, 200));
      return kExitServerError;
    }
    for (auto& t : doc["things"].GetArray()) {
      rapidjson::Document shadow;
      std::string shadow_text = str(t, "shadow");
      if (!shadow_text.empty()) parse(shadow_text, &shadow);
      std::vector<std::string> row = {str(t, "thingName"),
                                      shadow.IsObject() && shadow.HasMember("version") ? str(shadow, "version") : "",
                                      shadow.IsObject() && shadow.HasMember("hasDelta")
                                          ? (shadow["hasDelta"].IsTrue() ? "yes" : "no")
                                          : ""};
      for (const std::string& c : a.columns) row.push_back(column_value(shadow, c));
      if (a.columns.empty()) row.push_back(column_value(shadow, "reported"));
      table.add(std::move(row));
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("thingName", rapidjson::Value(str(t, "thingName").c_str(), alloc), alloc);
      if (shadow.IsObject()) item.AddMember("shadow", rapidjson::Value(shadow, alloc), alloc);
      if (t.HasMember("connectivity")) item.AddMember("connectivity", rapidjson::Value(t["connectivity"], alloc), alloc);
      things.PushBack(item, alloc);
      ++shown;
    }
    bar.count(shown, "found");
    auto next = doc.FindMember("nextToken");
    more = next != doc.MemberEnd() && next->value.IsString();
    if (!more || shown >= limit) break;
    token = next->value.GetString();
  }
  bar.clear();
  if (ctx.out.json()) {
    all.AddMember("things", things, alloc);
    if (more) all.AddMember("truncated", true, alloc);
    ctx.out.document(all);
    return kExitOk;
  }
  if (!table.empty()) std::fputs(table.render(kMaxCell, ctx.out.stdout_color()).c_str(), stdout);
  std::string summary = std::to_string(shown) + (shown == 1 ? " thing" : " things");
  if (more) summary += " shown; more match (raise --limit, or --limit 0 for all)";
  std::fprintf(stderr, "%s\n", summary.c_str());
  return kExitOk;
}

// --- fleet-update ----------------------------------------------------------

namespace {

// The request body of a fleet update from the command line.
std::optional<std::string> update_body(const Context& ctx, std::string* error) {
  const CommandArgs& a = ctx.args();
  rapidjson::Document body(rapidjson::kObjectType);
  auto& alloc = body.GetAllocator();
  if (!a.operation_id.empty()) body.AddMember("operationId", rapidjson::Value(a.operation_id.c_str(), alloc), alloc);
  body.AddMember("queryString", rapidjson::Value(a.query.c_str(), alloc), alloc);
  if (a.shadow) body.AddMember("shadowName", rapidjson::Value(a.shadow->c_str(), alloc), alloc);
  rapidjson::Value state(rapidjson::kObjectType);
  for (auto [flag, text, key] : {std::tuple{"--desired", &a.desired, "desired"},
                                 std::tuple{"--reported", &a.reported, "reported"}}) {
    if (!*text) continue;
    rapidjson::Document section;
    if (auto e = parse_json(**text, flag, &section)) {
      *error = *e;
      return std::nullopt;
    }
    if (!section.IsObject()) {
      *error = std::string(flag) + " must be a JSON object";
      return std::nullopt;
    }
    state.AddMember(rapidjson::StringRef(key), rapidjson::Value(section, alloc), alloc);
  }
  if (state.MemberCount() == 0) {
    *error = "say what to set: --desired JSON and/or --reported JSON";
    return std::nullopt;
  }
  body.AddMember("state", state, alloc);
  return compact_json(body);
}

std::string summary_of(const rapidjson::Value& op) {
  std::string s = "fleet update " + str(op, "operationId") + " " + str(op, "status") + ": " +
                  std::to_string(num(op, "matched")) + " matched, " + std::to_string(num(op, "updated")) +
                  " updated, " + std::to_string(num(op, "failed")) + " failed";
  if (!str(op, "lastThingName").empty()) s += " (last thing: " + str(op, "lastThingName") + ")";
  return s;
}

void report_operation_problems(const Context& ctx, const rapidjson::Value& op) {
  auto f = op.FindMember("firstFailure");
  if (f != op.MemberEnd() && f->value.IsObject()) {
    ctx.out.warning("first failure: " + str(f->value, "thingName") + ": " + str(f->value, "code") + " " +
                    str(f->value, "message"));
  }
  if (!str(op, "error").empty()) ctx.out.error(str(op, "error"));
}

int exit_for(const rapidjson::Value& op) {
  return str(op, "status") == "COMPLETED" && num(op, "failed") == 0 ? kExitOk : kExitIncomplete;
}

}  // namespace

int cmd_fleet_update(Context& ctx) {
  std::string error;
  auto body = update_body(ctx, &error);
  if (!body) {
    ctx.out.error(error);
    ctx.out.hint("example: shadowctl fleet-update --query 'thingName:line-7*' --desired '{\"fan\":\"on\"}'");
    return kExitUsage;
  }
  FleetApi api(ctx.http);
  const bool bar_on = ctx.out.stderr_is_terminal() && !ctx.out.json();
  // How many things match now: the progress bar's total (an estimate: the
  // fleet may change while the update runs).
  uint64_t total = 0;
  if (!ctx.args().no_wait) {
    HttpResponse count = api.statistics(ctx.args().query, "");
    if (!count.ok()) return report_fleet_failure(ctx, count);
    rapidjson::Document doc;
    if (parse(count.body, &doc) && doc.IsObject() && doc.HasMember("statistics"))
      total = num(doc["statistics"], "count");
    if (!ctx.out.json()) std::fprintf(stderr, "%llu things match '%s'\n", static_cast<unsigned long long>(total),
                                      ctx.args().query.c_str());
  }
  HttpResponse r = api.start_update(*body);
  if (!r.ok()) return report_fleet_failure(ctx, r);
  rapidjson::Document op;
  if (!parse(r.body, &op) || !op.IsObject()) {
    ctx.out.error("the answer is not a fleet update: " + r.body.substr(0, 200));
    return kExitServerError;
  }
  const std::string id = str(op, "operationId");
  if (r.status == 200 && !ctx.out.json())
    std::fprintf(stderr, "fleet update %s exists already with this request; following it\n", id.c_str());
  if (ctx.args().no_wait) {
    if (ctx.out.json()) ctx.out.document(op);
    else ctx.out.line(id);
    return kExitOk;
  }

  struct sigaction sa{};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  struct sigaction previous{};
  sigaction(SIGINT, &sa, &previous);
  ProgressBar bar(bar_on, "shadows");
  const auto started = std::chrono::steady_clock::now();
  while (str(op, "status") == "RUNNING") {
    if (g_interrupted) {
      bar.clear();
      std::fprintf(stderr, "interrupted: cancelling fleet update %s\n", id.c_str());
      r = api.cancel_update(id);
    } else {
      std::this_thread::sleep_for(kPollInterval);
      r = api.describe_update(id);
    }
    if (!r.ok()) {
      bar.clear();
      sigaction(SIGINT, &previous, nullptr);
      int code = report_fleet_failure(ctx, r);
      ctx.out.hint("the operation goes on in the broker; follow it with: shadowctl fleet-status " + id);
      return code;
    }
    rapidjson::Document next;
    if (!parse(r.body, &next) || !next.IsObject()) break;
    op.Swap(next);
    uint64_t done = num(op, "updated") + num(op, "failed");
    bar.update(std::min(done, std::max(total, done)), std::max(total, done), str(op, "lastThingName"));
  }
  bar.clear();
  sigaction(SIGINT, &previous, nullptr);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (ctx.out.json()) {
    ctx.out.document(op);
  } else {
    char took[32];
    std::snprintf(took, sizeof took, " in %.1f s", seconds);
    std::fprintf(stderr, "%s%s\n", summary_of(op).c_str(), took);
  }
  report_operation_problems(ctx, op);
  return exit_for(op);
}

int cmd_fleet_status(Context& ctx) {
  FleetApi api(ctx.http);
  const std::string& id = ctx.args().operation_id;
  if (!id.empty()) {
    HttpResponse r = api.describe_update(id);
    if (!r.ok()) return report_fleet_failure(ctx, r);
    rapidjson::Document op;
    if (!parse(r.body, &op) || !op.IsObject()) {
      ctx.out.error("the answer is not a fleet update: " + r.body.substr(0, 200));
      return kExitServerError;
    }
    if (!ctx.out.json()) std::fprintf(stderr, "%s\n", summary_of(op).c_str());
    ctx.out.document(op);
    return kExitOk;
  }
  Table table({"ID", "STATUS", "MATCHED", "UPDATED", "FAILED", "CREATED", "QUERY"});
  rapidjson::Document all(rapidjson::kArrayType);
  std::string token;
  for (int pages = 0; pages < 10000; ++pages) {
    HttpResponse r = api.list_updates(token);
    if (!r.ok()) return report_fleet_failure(ctx, r);
    rapidjson::Document doc;
    if (!parse(r.body, &doc) || !doc.IsObject() || !doc.HasMember("operations")) {
      ctx.out.error("the answer is not a list of fleet updates: " + r.body.substr(0, 200));
      return kExitServerError;
    }
    for (auto& op : doc["operations"].GetArray()) {
      table.add({str(op, "operationId"), str(op, "status"), std::to_string(num(op, "matched")),
                 std::to_string(num(op, "updated")), std::to_string(num(op, "failed")),
                 local_time(static_cast<int64_t>(num(op, "createdAt"))), str(op, "queryString")});
      all.PushBack(rapidjson::Value(op, all.GetAllocator()), all.GetAllocator());
    }
    auto next = doc.FindMember("nextToken");
    if (next == doc.MemberEnd() || !next->value.IsString()) break;
    token = next->value.GetString();
  }
  if (ctx.out.json()) {
    ctx.out.document(all);
  } else if (table.empty()) {
    std::fprintf(stderr, "no fleet updates\n");
  } else {
    std::fputs(table.render(kMaxCell, ctx.out.stdout_color()).c_str(), stdout);
  }
  return kExitOk;
}

int cmd_fleet_cancel(Context& ctx) {
  FleetApi api(ctx.http);
  HttpResponse r = api.cancel_update(ctx.args().operation_id);
  if (!r.ok()) return report_fleet_failure(ctx, r);
  rapidjson::Document op;
  if (!parse(r.body, &op) || !op.IsObject()) {
    ctx.out.error("the answer is not a fleet update: " + r.body.substr(0, 200));
    return kExitServerError;
  }
  if (ctx.out.json()) ctx.out.document(op);
  else std::fprintf(stderr, "%s\n", summary_of(op).c_str());
  return kExitOk;
}

// --- history ---------------------------------------------------------------

namespace {

// desired.* and reported.* leaves of an entry's state: path -> compact value.
void flatten(const rapidjson::Value& v, const std::string& path, std::map<std::string, std::string>* out) {
  if (v.IsObject() && v.MemberCount() > 0) {
    for (auto& m : v.GetObject()) flatten(m.value, path + "." + m.name.GetString(), out);
    return;
  }
  (*out)[path] = compact(v);
}

std::map<std::string, std::string> leaves(const rapidjson::Value& entry) {
  std::map<std::string, std::string> out;
  auto state = entry.FindMember("state");
  if (state == entry.MemberEnd() || !state->value.IsObject()) return out;
  for (auto& section : state->value.GetObject()) flatten(section.value, section.name.GetString(), &out);
  return out;
}

// "+reported.temp=20 desired.temp:20->22 -desired.x" between two versions.
std::string changes(const std::map<std::string, std::string>& before, const std::map<std::string, std::string>& after) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : " ") + s; };
  for (const auto& [k, v] : after) {
    auto it = before.find(k);
    if (it == before.end()) add("+" + k + "=" + v);
    else if (it->second != v) add(k + ":" + it->second + "->" + v);
  }
  for (const auto& [k, v] : before)
    if (!after.count(k)) add("-" + k);
  return out.empty() ? "(no change)" : out;
}

}  // namespace

int cmd_history(Context& ctx) {
  const CommandArgs& a = ctx.args();
  ShadowRef ref{a.thing, a.shadow};
  FleetApi api(ctx.http);
  rapidjson::Document all(rapidjson::kArrayType);
  uint64_t from = a.from_version > 0 ? static_cast<uint64_t>(a.from_version) : 0;
  const size_t limit = a.limit > 0 ? static_cast<size_t>(a.limit) : SIZE_MAX;
  bool more = false;
  while (all.Size() < limit) {
    HttpResponse r = api.history(ref, from, 100);
    if (!r.ok()) return report_failure(ctx, r, &ref);
    rapidjson::Document doc;
    if (!parse(r.body, &doc) || !doc.IsObject() || !doc.HasMember("results") || !doc["results"].IsArray()) {
      ctx.out.error("the answer is not a shadow history: " + r.body.substr(0, 200));
      return kExitServerError;
    }
    bool cut = false;
    for (auto& e : doc["results"].GetArray()) {
      if (all.Size() >= limit) {
        cut = true;
        break;
      }
      all.PushBack(rapidjson::Value(e, all.GetAllocator()), all.GetAllocator());
    }
    auto next = doc.FindMember("nextVersion");
    more = cut || (next != doc.MemberEnd() && next->value.IsUint64());
    if (cut || !more) break;
    from = next->value.GetUint64();
  }
  if (ctx.out.json()) {
    ctx.out.document(all);
    return kExitOk;
  }
  if (all.Empty()) {
    std::fprintf(stderr, "no history kept for the %s\n", ref.describe().c_str());
    return kExitOk;
  }
  Table table({"VERSION", "TIME", "OPERATION", "CHANNEL", "IDENTITY", "CLIENT TOKEN", "CHANGES"});
  std::map<std::string, std::string> previous;
  bool have_previous = false;
  for (auto& e : all.GetArray()) {
    std::map<std::string, std::string> now = leaves(e);
    std::string what;
    if (str(e, "operation") == "delete") what = "(deleted)";
    else if (have_previous || num(e, "version") == 1) what = changes(previous, now);
    else what = "(earliest kept) " + changes({}, now);
    table.add({str(e, "version"), local_time(static_cast<int64_t>(num(e, "timestamp"))), str(e, "operation"),
               str(e, "channel"), str(e, "identity"), str(e, "clientToken"), what});
    previous = str(e, "operation") == "delete" ? std::map<std::string, std::string>{} : now;
    have_previous = true;
  }
  std::fputs(table.render(200, ctx.out.stdout_color()).c_str(), stdout);
  if (more) std::fprintf(stderr, "more versions follow: raise --limit\n");
  return kExitOk;
}

}  // namespace shadowctl
