#include "tools/shadowctl/json_input.h"

#include <rapidjson/error/en.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace shadowctl {

std::optional<std::string> parse_json(const std::string& text, const std::string& what,
                                      rapidjson::Document* doc) {
  doc->Parse(text.c_str(), text.size());
  if (!doc->HasParseError()) return std::nullopt;
  return what + " is not valid JSON (" + rapidjson::GetParseError_En(doc->GetParseError()) +
         " at offset " + std::to_string(doc->GetErrorOffset()) + ")";
}

std::optional<std::string> read_input(const std::string& path, std::string* error) {
  if (path == "-") {
    std::ostringstream all;
    all << std::cin.rdbuf();
    return all.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace shadowctl
