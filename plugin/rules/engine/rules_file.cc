#include "plugin/rules/engine/rules_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "shadow_core/json.h"

namespace shadow::rules {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxFileBytes = 16u << 20;

StatusOr<std::string> read_file(const fs::path& path) {
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  if (ec) return Status::io_error(path.string() + ": " + ec.message());
  if (size > kMaxFileBytes) return Status::invalid_argument(path.string() + ": larger than 16 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path.string() + ": cannot be opened for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return Status::io_error(path.string() + ": read failed");
  return text.str();
}

Status definition(const json::Value& v, const std::string& source, std::vector<RuleDefinition>* out) {
  const char* shape = R"( (expected {"ruleName": "...", "topicRulePayload": {...}}))";
  if (!v.IsObject()) return Status::invalid_argument(source + ": a definition must be a JSON object" + shape);
  const json::Value* name = json::find_last(v, "ruleName");
  if (!name || !name->IsString()) return Status::invalid_argument(source + ": ruleName is missing or not a string" + shape);
  const json::Value* payload = json::find_last(v, "topicRulePayload");
  if (!payload || !payload->IsObject())
    return Status::invalid_argument(source + ": topicRulePayload is missing or not an object" + shape);
  out->push_back(RuleDefinition{std::string(json::view(*name)), json::write(*payload), source});
  return Status::ok();
}

Status read_definitions(const fs::path& path, std::vector<RuleDefinition>* out) {
  auto text = read_file(path);
  if (!text.ok()) return text.status();
  json::Document doc;
  if (!json::parse(text.value(), &doc)) return Status::invalid_argument(path.string() + ": not valid JSON");
  if (!doc.IsArray()) return definition(doc, path.string(), out);
  for (rapidjson::SizeType i = 0; i < doc.Size(); i++) {
    Status st = definition(doc[i], path.string() + "[" + std::to_string(i) + "]", out);
    if (!st.is_ok()) return st;
  }
  return Status::ok();
}

}  // namespace

StatusOr<std::vector<RuleDefinition>> read_rule_definitions(const std::string& path) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return Status::invalid_argument(path + ": no such file or directory");
  std::vector<fs::path> files;
  if (fs::is_directory(status)) {
    for (const fs::directory_entry& entry : fs::directory_iterator(path, ec)) {
      if (entry.path().extension() == ".json" && entry.is_regular_file()) files.push_back(entry.path());
    }
    if (ec) return Status::io_error(path + ": " + ec.message());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::vector<RuleDefinition> definitions;
  for (const fs::path& file : files) {
    Status st = read_definitions(file, &definitions);
    if (!st.is_ok()) return st;
  }
  std::set<std::string> names;
  for (const RuleDefinition& d : definitions) {
    if (!names.insert(d.name).second)
      return Status::invalid_argument(d.source + ": the rule '" + d.name + "' is defined more than once");
  }
  return definitions;
}

}  // namespace shadow::rules
