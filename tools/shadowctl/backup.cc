// export and import: JSON Lines backups of shadows over the REST API.
//
// One line per shadow: {"thing":T,"shadow":null|NAME,"version":N,
// "state":{"desired":...,"reported":...}}. Only the state is restored
// (an update cannot set metadata, timestamps or versions); "version" records
// what was backed up.
//
// With no thing named, export lists every shadow with GET /api/shadows (a
// mosquitto-shadow extension: AWS has no call that lists things). Named
// things (arguments or --things) are a filter: for each, the classic shadow
// and every named shadow, found with ListNamedShadowsForThing.
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tools/shadowctl/commands.h"
#include "tools/shadowctl/exit_codes.h"
#include "tools/shadowctl/json_input.h"
#include "tools/shadowctl/progress.h"

namespace shadowctl {

namespace {

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    if (fields >> name && name[0] != '#') names.push_back(name);
  }
  return names;
}

// The things named on the command line: arguments, then --things FILE
// ('-': stdin). Empty when none are named: then every shadow is exported.
std::optional<std::vector<std::string>> named_things(const Context& ctx, std::string* error) {
  const CommandArgs& a = ctx.args();
  std::vector<std::string> things = a.things;
  if (!a.things_file.empty()) {
    auto text = read_input(a.things_file, error);
    if (!text) return std::nullopt;
    for (auto& n : split_names(*text)) things.push_back(std::move(n));
  }
  return things;
}

// The backup line for a GetThingShadow answer; nullopt if it is not a
// shadow document.
std::optional<std::string> backup_line(const ShadowRef& ref, const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("state") ||
      !doc["state"].IsObject()) {
    return std::nullopt;
  }
  rapidjson::Document line(rapidjson::kObjectType);
  auto& a = line.GetAllocator();
  line.AddMember("thing", rapidjson::Value(ref.thing.c_str(), a), a);
  if (ref.shadow) {
    line.AddMember("shadow", rapidjson::Value(ref.shadow->c_str(), a), a);
  } else {
    line.AddMember("shadow", rapidjson::Value(rapidjson::kNullType), a);
  }
  if (doc.HasMember("version")) line.AddMember("version", rapidjson::Value(doc["version"], a), a);
  rapidjson::Value state(rapidjson::kObjectType);
  for (const char* section : {"desired", "reported"}) {  // delta is derived: not saved
    auto m = doc["state"].FindMember(section);
    if (m != doc["state"].MemberEnd()) {
      state.AddMember(rapidjson::StringRef(section), rapidjson::Value(m->value, a), a);
    }
  }
  line.AddMember("state", state, a);
  return compact_json(line);
}

struct Tally {
  std::size_t ok = 0;
  std::size_t failed = 0;
  int first_failure = kExitOk;

  void fail(int code) {
    ++failed;
    if (first_failure == kExitOk) first_failure = code;
  }
};

std::string failure_text(const HttpResponse& r) {
  return std::to_string(r.status) + (r.error_type.empty() ? "" : " " + r.error_type) + ": " +
         error_message(r);
}

// Writes backup lines to the sink and keeps the tally; shared by the two
// ways of finding the shadows.
class Exporter {
 public:
  Exporter(Context& ctx, std::ostream& sink, ProgressBar& bar) : ctx_(ctx), sink_(sink), bar_(bar) {}

  // Saves one shadow. false: stop (no connection to the server).
  bool save(const ShadowRef& ref) {
    HttpResponse r = ctx_.api.get(ref);
    if (r.status == 404) return true;  // no classic shadow, or deleted since listed
    if (!r.ok()) return failed(r, &ref, "cannot read " + ref.describe());
    auto line = backup_line(ref, r.body);
    if (!line) {
      bar_.clear();
      ctx_.out.error("the answer for " + ref.describe() + " is not a shadow document");
      tally_.fail(kExitServerError);
      return true;
    }
    sink_ << *line << "\n";
    ++tally_.ok;
    return true;
  }

  // Reports a failed request. false when it had no answer (stop).
  bool failed(const HttpResponse& r, const ShadowRef* ref, const std::string& what) {
    bar_.clear();
    if (r.status == 0) {
      report_failure(ctx_, r, ref);
      tally_.fail(kExitConnection);
      incomplete_ = true;
      return false;
    }
    ctx_.out.error(what + ": " + failure_text(r));
    tally_.fail(exit_code_for_status(r.status));
    return true;
  }

  const Tally& tally() const { return tally_; }
  Tally& tally() { return tally_; }

  // Some shadows were never even found (a list request failed, or the
  // connection was lost): how many are missing is unknown.
  void set_incomplete() { incomplete_ = true; }
  bool incomplete() const { return incomplete_; }

 private:
  Context& ctx_;
  std::ostream& sink_;
  ProgressBar& bar_;
  Tally tally_;
  bool incomplete_ = false;
};

// ListNamedShadowsForThing accepts at most 100 names a page.
constexpr int kMaxNamedPageSize = 100;

// The named things: each one's classic shadow and every named shadow.
// Returns the number of things.
std::size_t export_things(Context& ctx, const std::vector<std::string>& things, Exporter& ex,
                          ProgressBar& bar) {
  int page_size = std::min(ctx.args().page_size, kMaxNamedPageSize);
  for (std::size_t i = 0; i < things.size(); ++i) {
    const std::string& thing = things[i];
    bar.update(i, things.size(), thing);
    if (!ex.save(ShadowRef{thing, std::nullopt})) break;
    ListResult named = list_all_named(ctx.api, thing, page_size);
    if (!named.failure.ok()) {
      ex.set_incomplete();
      if (!ex.failed(named.failure, nullptr, "cannot list the named shadows of '" + thing + "'"))
        break;
    }
    bool connected = true;
    for (const auto& name : named.names) {
      connected = ex.save(ShadowRef{thing, name});
      if (!connected) break;
    }
    if (!connected) break;
  }
  bar.update(things.size(), things.size(), "");
  return things.size();
}

// Every shadow on the server, page by page from GET /api/shadows (our
// extension): each page's shadows are read before the next page is asked
// for, so memory stays bounded however many shadows there are. Returns the
// number of things seen.
std::size_t export_everything(Context& ctx, Exporter& ex, ProgressBar& bar) {
  std::size_t things = 0, listed = 0;
  std::string last_thing, token;
  // A server that keeps returning tokens must not keep us here forever.
  for (int page = 0; page < 10000000; ++page) {
    HttpResponse r = ctx.api.list_all_page(ctx.args().page_size, token);
    if (!r.ok()) {
      bar.clear();
      ex.set_incomplete();
      if (page == 0 && (r.status == 404 || r.status == 405)) {
        // An older mosquitto-shadow, or AWS IoT itself: no such route.
        ctx.out.error("the server cannot list all shadows (GET /api/shadows answered " +
                      std::to_string(r.status) + ")");
        ctx.out.hint("name the things to export: shadowctl export THING... or --things FILE");
        ex.tally().fail(kExitRequestError);
      } else if (r.status == 0 || r.status == 403) {
        ex.tally().fail(report_failure(ctx, r, nullptr));
      } else {
        ex.failed(r, nullptr, "cannot list the shadows");
      }
      break;
    }
    auto parsed = parse_shadow_page(r.body);
    if (!parsed) {
      bar.clear();
      ex.set_incomplete();
      ctx.out.error("the answer to GET /api/shadows is not {\"results\":[{\"thingName\":...}]}");
      ex.tally().fail(kExitServerError);
      break;
    }
    bool connected = true;
    for (const ShadowRef& ref : parsed->shadows) {
      if (ref.thing != last_thing) {
        ++things;
        last_thing = ref.thing;
      }
      bar.count(++listed, ref.thing);
      connected = ex.save(ref);
      if (!connected) break;
    }
    if (!connected || parsed->next_token.empty() || parsed->next_token == token) break;
    token = std::move(parsed->next_token);
  }
  return things;
}

}  // namespace

int cmd_export(Context& ctx) {
  const CommandArgs& a = ctx.args();
  std::string error;
  auto things = named_things(ctx, &error);
  if (!things) {
    ctx.out.error(error);
    return kExitUsage;
  }
  // Names (even an empty --things file) filter; nothing named: everything.
  const bool everything = a.things.empty() && a.things_file.empty();

  std::ofstream file;
  std::string tmp_path;
  if (!a.out_file.empty() && a.out_file != "-") {
    // Written beside the target and renamed at the end, so an existing
    // backup is never left half-overwritten.
    tmp_path = a.out_file + ".tmp";
    file.open(tmp_path, std::ios::binary | std::ios::trunc);
    if (!file) {
      ctx.out.error("cannot write " + tmp_path);
      return kExitUsage;
    }
  }
  std::ostream& sink = tmp_path.empty() ? std::cout : file;

  ProgressBar bar(ctx.out.stderr_is_terminal(), everything ? "shadows" : "things");
  Exporter ex(ctx, sink, bar);
  std::size_t thing_count =
      everything ? export_everything(ctx, ex, bar) : export_things(ctx, *things, ex, bar);
  bar.clear();

  sink.flush();
  if (!tmp_path.empty() && ex.incomplete()) {
    // Never replace a backup with one that misses an unknown number of
    // shadows; what was saved stays in FILE.tmp for a look.
    file.close();
    ctx.out.error("the export is incomplete: " + a.out_file + " is left unchanged; what was " +
                  "saved is in " + tmp_path);
    tmp_path.clear();
  } else if (!tmp_path.empty()) {
    file.close();
    if (!file || std::rename(tmp_path.c_str(), a.out_file.c_str()) != 0) {
      ctx.out.error("cannot write " + a.out_file);
      std::remove(tmp_path.c_str());
      return kExitUsage;
    }
  }
  const Tally& tally = ex.tally();
  std::cerr << "exported " << tally.ok << " shadows of " << thing_count << " things"
            << (tally.failed ? ", " + std::to_string(tally.failed) + " failed" : "")
            << (tmp_path.empty() ? "" : " to " + a.out_file) << std::endl;
  return tally.first_failure;
}

namespace {

// A parsed backup line, ready to send.
struct RestoreItem {
  ShadowRef ref;
  std::string request;  // {"state":{"desired":...,"reported":...}}
};

std::optional<RestoreItem> parse_backup_line(const std::string& text, std::string* error) {
  rapidjson::Document doc;
  if (auto e = parse_json(text, "the line", &doc)) {
    *error = *e;
    return std::nullopt;
  }
  if (!doc.IsObject()) {
    *error = "not a JSON object";
    return std::nullopt;
  }
  auto thing = doc.FindMember("thing");
  auto shadow = doc.FindMember("shadow");
  auto state = doc.FindMember("state");
  if (thing == doc.MemberEnd() || !thing->value.IsString()) {
    *error = "\"thing\" is missing or not a string";
    return std::nullopt;
  }
  if (shadow != doc.MemberEnd() && !shadow->value.IsNull() && !shadow->value.IsString()) {
    *error = "\"shadow\" must be null or a string";
    return std::nullopt;
  }
  if (state == doc.MemberEnd() || !state->value.IsObject()) {
    *error = "\"state\" is missing or not an object";
    return std::nullopt;
  }
  RestoreItem item;
  item.ref.thing = thing->value.GetString();
  if (shadow != doc.MemberEnd() && shadow->value.IsString()) item.ref.shadow = shadow->value.GetString();

  rapidjson::Document request(rapidjson::kObjectType);
  auto& a = request.GetAllocator();
  rapidjson::Value sections(rapidjson::kObjectType);
  for (const char* section : {"desired", "reported"}) {
    auto m = state->value.FindMember(section);
    if (m == state->value.MemberEnd()) continue;
    if (!m->value.IsObject()) {
      *error = std::string("\"state.") + section + "\" must be an object";
      return std::nullopt;
    }
    sections.AddMember(rapidjson::StringRef(section), rapidjson::Value(m->value, a), a);
  }
  request.AddMember("state", sections, a);
  item.request = compact_json(request);
  return item;
}

}  // namespace

int cmd_import(Context& ctx) {
  const CommandArgs& a = ctx.args();
  std::string error;
  auto text = read_input(a.in_file, &error);
  if (!text) {
    ctx.out.error(error);
    return kExitUsage;
  }
  // Numbered non-blank lines, counted first so the bar knows the total.
  std::vector<std::pair<std::size_t, std::string>> lines;
  {
    std::istringstream in(*text);
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") != std::string::npos) lines.emplace_back(n, line);
    }
  }

  ProgressBar bar(ctx.out.stderr_is_terminal(), "shadows");
  Tally tally;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& [number, line] = lines[i];
    std::string where = a.in_file + ":" + std::to_string(number);
    auto item = parse_backup_line(line, &error);
    if (!item) {
      bar.clear();
      ctx.out.error(where + ": " + error);
      tally.fail(kExitUsage);
      continue;
    }
    bar.update(i, lines.size(), item->ref.thing);
    if (a.replace) {
      HttpResponse r = ctx.api.remove(item->ref);
      if (r.status == 0) {
        bar.clear();
        report_failure(ctx, r, &item->ref);
        tally.fail(kExitConnection);
        break;
      }
      // 404: nothing to replace. Any other error shows up in the update.
    }
    HttpResponse r = ctx.api.update(item->ref, item->request);
    if (!r.ok()) {
      bar.clear();
      if (r.status == 0) {
        report_failure(ctx, r, &item->ref);
        tally.fail(kExitConnection);
        break;
      }
      ctx.out.error(where + ": " + item->ref.describe() + ": " + failure_text(r));
      tally.fail(exit_code_for_status(r.status));
      continue;
    }
    ++tally.ok;
  }
  bar.update(lines.size(), lines.size(), "");
  bar.clear();

  // Lines never tried (after a lost connection) count as failed.
  std::size_t untried = lines.size() - tally.ok - tally.failed;
  tally.failed += untried;
  if (ctx.out.json()) {
    rapidjson::Document summary(rapidjson::kObjectType);
    auto& al = summary.GetAllocator();
    summary.AddMember("imported", rapidjson::Value(static_cast<uint64_t>(tally.ok)), al);
    summary.AddMember("failed", rapidjson::Value(static_cast<uint64_t>(tally.failed)), al);
    ctx.out.document(summary);
  }
  std::cerr << "imported " << tally.ok << " shadows, " << tally.failed << " failed" << std::endl;
  return tally.first_failure;
}

}  // namespace shadowctl
