// Rows printed as aligned columns under a header, for the fleet commands
// (search, fleet-status, history). Cells longer than the cap are cut with
// "...", so a wide shadow does not wreck the layout.
#pragma once

#include <string>
#include <vector>

namespace shadowctl {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // The table as text, one line per row, each ending in '\n'; `bold_header`
  // wraps the header line in the ANSI bold style.
  std::string render(size_t max_cell, bool bold_header) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace shadowctl
