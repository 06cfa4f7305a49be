// get, update, delete and list: one REST call each (list: one per page).
#include "tools/shadowctl/commands.h"

#include <rapidjson/document.h>
#include <unistd.h>

#include "tools/shadowctl/exit_codes.h"
#include "tools/shadowctl/json_input.h"

namespace shadowctl {

namespace {

ShadowRef ref_of(const Context& ctx) { return ShadowRef{ctx.args().thing, ctx.args().shadow}; }

// The "version" of a response document, or -1.
int64_t version_of(const rapidjson::Document& doc) {
  if (!doc.IsObject()) return -1;
  auto v = doc.FindMember("version");
  return v != doc.MemberEnd() && v->value.IsInt64() ? v->value.GetInt64() : -1;
}

// Shows a successful response: compact with --json, otherwise (on a
// terminal) a title line above the pretty document.
void show(const Context& ctx, const HttpResponse& r, const std::string& title) {
  rapidjson::Document doc;
  doc.Parse(r.body.c_str(), r.body.size());
  if (doc.HasParseError()) {
    ctx.out.document_text(r.body);
    return;
  }
  if (!ctx.out.json() && isatty(STDOUT_FILENO) == 1) {
    int64_t version = version_of(doc);
    ctx.out.line(ctx.out.style(title + (version >= 0 ? ", version " + std::to_string(version) : ""),
                               "1"));
  }
  ctx.out.document(doc);
}

// The request document of `update` from --desired/--reported, --file or
// stdin, with --version and --client-token added.
std::optional<std::string> build_update(const Context& ctx, std::string* error) {
  const CommandArgs& a = ctx.args();
  int sources = (a.desired || a.reported ? 1 : 0) + (a.file ? 1 : 0) + (a.from_stdin ? 1 : 0);
  if (sources != 1) {
    *error = sources == 0 ? "say what to change: --desired JSON, --reported JSON, --file FILE or "
                            "'-' for stdin"
                          : "give the change one way only: --desired/--reported, --file or '-'";
    return std::nullopt;
  }

  rapidjson::Document request;
  auto& alloc = request.GetAllocator();
  if (a.file || a.from_stdin) {
    std::string name = a.file ? *a.file : "stdin";
    auto text = read_input(a.file ? *a.file : "-", error);
    if (!text) return std::nullopt;
    if (auto e = parse_json(*text, name, &request)) {
      *error = *e;
      return std::nullopt;
    }
    if (!request.IsObject() || !request.HasMember("state")) {
      *error = name + " must hold a request document {\"state\":{\"desired\":{...}}}";
      return std::nullopt;
    }
  } else {
    request.SetObject();
    rapidjson::Value state(rapidjson::kObjectType);
    for (auto [flag, text, key] : {std::tuple{"--desired", &a.desired, "desired"},
                                   std::tuple{"--reported", &a.reported, "reported"}}) {
      if (!*text) continue;
      rapidjson::Document section;
      if (auto e = parse_json(**text, flag, &section)) {
        *error = *e;
        return std::nullopt;
      }
      if (!section.IsObject() && !section.IsNull()) {
        *error = std::string(flag) + " must be a JSON object (or null to clear the section)";
        return std::nullopt;
      }
      state.AddMember(rapidjson::StringRef(key), rapidjson::Value(section, alloc), alloc);
    }
    request.AddMember("state", state, alloc);
  }
  if (a.version) {
    request.RemoveMember("version");
    request.AddMember("version", rapidjson::Value(*a.version), alloc);
  }
  if (a.client_token) {
    request.RemoveMember("clientToken");
    request.AddMember("clientToken", rapidjson::Value(a.client_token->c_str(), alloc), alloc);
  }
  return compact_json(request);
}

}  // namespace

int cmd_get(Context& ctx) {
  ShadowRef ref = ref_of(ctx);
  HttpResponse r = ctx.api.get(ref);
  if (!r.ok()) return report_failure(ctx, r, &ref);
  show(ctx, r, ref.describe());
  return kExitOk;
}

int cmd_update(Context& ctx) {
  ShadowRef ref = ref_of(ctx);
  std::string error;
  auto body = build_update(ctx, &error);
  if (!body) {
    ctx.out.error(error);
    ctx.out.hint("example: shadowctl update " + ref.thing + " --desired '{\"lights\":\"on\"}'");
    return kExitUsage;
  }
  HttpResponse r = ctx.api.update(ref, *body);
  if (!r.ok()) return report_failure(ctx, r, &ref);
  show(ctx, r, "updated " + ref.describe());
  return kExitOk;
}

int cmd_delete(Context& ctx) {
  ShadowRef ref = ref_of(ctx);
  HttpResponse r = ctx.api.remove(ref);
  if (!r.ok()) return report_failure(ctx, r, &ref);
  if (ctx.out.json()) {
    ctx.out.document_text(r.body);
    return kExitOk;
  }
  rapidjson::Document doc;
  doc.Parse(r.body.c_str(), r.body.size());
  int64_t version = doc.HasParseError() ? -1 : version_of(doc);
  ctx.out.line("deleted " + ref.describe() +
               (version >= 0 ? " (it was at version " + std::to_string(version) + ")" : ""));
  return kExitOk;
}

int cmd_list(Context& ctx) {
  const std::string& thing = ctx.args().thing;
  ListResult result = list_all_named(ctx.api, thing, ctx.args().page_size);
  if (!result.failure.ok()) return report_failure(ctx, result.failure, nullptr);
  if (ctx.out.json()) {
    rapidjson::Document doc(rapidjson::kObjectType);
    auto& alloc = doc.GetAllocator();
    doc.AddMember("thing", rapidjson::Value(thing.c_str(), alloc), alloc);
    rapidjson::Value names(rapidjson::kArrayType);
    for (const auto& n : result.names) names.PushBack(rapidjson::Value(n.c_str(), alloc), alloc);
    doc.AddMember("results", names, alloc);
    ctx.out.document(doc);
    return kExitOk;
  }
  for (const auto& n : result.names) ctx.out.line(n);
  if (result.names.empty() && isatty(STDOUT_FILENO) == 1) {
    ctx.out.line(ctx.out.style("'" + thing + "' has no named shadows", "2"));
  }
  return kExitOk;
}

}  // namespace shadowctl
