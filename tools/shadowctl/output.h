// How shadowctl writes: documents to stdout (pretty and, on a terminal,
// colored; or compact JSON with --json), messages and hints to stderr.
#pragma once

#include <rapidjson/document.h>

#include <string>

namespace shadowctl {

struct OutputOptions {
  bool json = false;      // --json: compact machine-readable output only
  bool no_color = false;  // --no-color (NO_COLOR in the environment too)
};

class Output {
 public:
  explicit Output(const OutputOptions& options);

  bool json() const { return json_; }
  bool stdout_color() const { return color_out_; }
  bool stderr_is_terminal() const { return err_tty_; }

  // A JSON value, pretty (colored on a terminal) or compact with --json.
  void document(const rapidjson::Value& value) const;
  // A JSON text from the server: parsed and shown like document(); printed
  // as received if it does not parse.
  void document_text(const std::string& text) const;
  // A line on stdout in readable mode (nothing with --json).
  void line(const std::string& text) const;
  // "shadowctl: error: ..." on stderr.
  void error(const std::string& text) const;
  // "  hint: ..." on stderr: what to try next.
  void hint(const std::string& text) const;
  void warning(const std::string& text) const;

  // Text wrapped in an ANSI style when stdout is colored ("1" bold, "2" dim,
  // "32" green, ...).
  std::string style(const std::string& text, const char* sgr) const;

 private:
  bool json_;
  bool color_out_;
  bool color_err_;
  bool err_tty_;
};

// Pretty JSON with two-space indentation; `color` adds ANSI colors to keys,
// strings, numbers and literals.
std::string pretty_json(const rapidjson::Value& value, bool color);
std::string compact_json(const rapidjson::Value& value);

}  // namespace shadowctl
