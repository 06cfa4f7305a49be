// Reading JSON the user gives on the command line, in a file or on stdin,
// with messages that point at the problem.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>

namespace shadowctl {

// Parses `text` into `doc`; on failure returns a message such as
// "--desired is not valid JSON (Missing a name for object member. at offset 1)".
std::optional<std::string> parse_json(const std::string& text, const std::string& what,
                                      rapidjson::Document* doc);

// The whole content of `path` ("-": stdin); nullopt with `error` set if it
// cannot be read.
std::optional<std::string> read_input(const std::string& path, std::string* error);

}  // namespace shadowctl
