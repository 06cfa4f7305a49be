#include "tools/shadowctl/output.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace shadowctl {

namespace {

bool color_allowed(int fd, bool no_color) {
  if (no_color) return false;
  // https://no-color.org: any non-empty NO_COLOR turns colors off.
  const char* env = std::getenv("NO_COLOR");
  if (env != nullptr && env[0] != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) return false;
  return isatty(fd) == 1;
}

const char* kKey = "\033[1;34m";
const char* kString = "\033[32m";
const char* kNumber = "\033[33m";
const char* kLiteral = "\033[35m";
const char* kReset = "\033[0m";

std::string scalar_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

// The colored printer walks the tree itself so it can wrap each token; its
// layout matches PrettyWriter's (used when there is no color).
void colored(const rapidjson::Value& v, int depth, std::string& out) {
  std::string indent(2 * (depth + 1), ' ');
  std::string close_indent(2 * depth, ' ');
  if (v.IsObject()) {
    if (v.MemberCount() == 0) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& m : v.GetObject()) {
      if (!first) out += ",\n";
      first = false;
      out += indent + kKey + scalar_text(m.name) + kReset + ": ";
      colored(m.value, depth + 1, out);
    }
    out += "\n" + close_indent + "}";
  } else if (v.IsArray()) {
    if (v.Size() == 0) {
      out += "[]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (const auto& e : v.GetArray()) {
      if (!first) out += ",\n";
      first = false;
      out += indent;
      colored(e, depth + 1, out);
    }
    out += "\n" + close_indent + "]";
  } else if (v.IsString()) {
    out += kString + scalar_text(v) + kReset;
  } else if (v.IsNumber()) {
    out += kNumber + scalar_text(v) + kReset;
  } else {
    out += kLiteral + scalar_text(v) + kReset;
  }
}

}  // namespace

std::string pretty_json(const rapidjson::Value& value, bool color) {
  if (color) {
    std::string out;
    colored(value, 0, out);
    return out;
  }
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  value.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string compact_json(const rapidjson::Value& value) { return scalar_text(value); }

Output::Output(const OutputOptions& options)
    : json_(options.json),
      color_out_(!options.json && color_allowed(STDOUT_FILENO, options.no_color)),
      color_err_(color_allowed(STDERR_FILENO, options.no_color)),
      err_tty_(isatty(STDERR_FILENO) == 1) {}

void Output::document(const rapidjson::Value& value) const {
  if (json_) {
    std::cout << compact_json(value) << "\n";
  } else {
    std::cout << pretty_json(value, color_out_) << "\n";
  }
  std::cout.flush();
}

void Output::document_text(const std::string& text) const {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError()) {
    std::cout << text << "\n";
    std::cout.flush();
    return;
  }
  document(doc);
}

void Output::line(const std::string& text) const {
  if (json_) return;
  std::cout << text << "\n";
  std::cout.flush();
}

void Output::error(const std::string& text) const {
  if (color_err_) {
    std::cerr << "shadowctl: \033[1;31merror:\033[0m " << text << "\n";
  } else {
    std::cerr << "shadowctl: error: " << text << "\n";
  }
}

void Output::warning(const std::string& text) const {
  if (color_err_) {
    std::cerr << "shadowctl: \033[1;33mwarning:\033[0m " << text << "\n";
  } else {
    std::cerr << "shadowctl: warning: " << text << "\n";
  }
}

void Output::hint(const std::string& text) const {
  if (color_err_) {
    std::cerr << "  \033[36mhint:\033[0m " << text << "\n";
  } else {
    std::cerr << "  hint: " << text << "\n";
  }
}

std::string Output::style(const std::string& text, const char* sgr) const {
  if (!color_out_) return text;
  return std::string("\033[") + sgr + "m" + text + kReset;
}

}  // namespace shadowctl
