#include "tools/shadowctl/table.h"

#include <algorithm>

namespace shadowctl {
namespace {

// Characters, not bytes: UTF-8 continuation bytes take no column.
size_t width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string cut(const std::string& s, size_t max) {
  if (width(s) <= max) return s;
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++n > max - 3) break;
    out += s[i];
  }
  return out + "...";
}

}  // namespace

std::string Table::render(size_t max_cell, bool bold_header) const {
  std::vector<std::vector<std::string>> cells;
  cells.push_back(headers_);
  for (const auto& r : rows_) {
    std::vector<std::string> row;
    for (const auto& c : r) row.push_back(cut(c, max_cell));
    cells.push_back(std::move(row));
  }
  std::vector<size_t> widths(headers_.size(), 0);
  for (const auto& row : cells)
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
  std::string out;
  for (size_t r = 0; r < cells.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < cells[r].size() && i < widths.size(); ++i) {
      line += cells[r][i];
      if (i + 1 < cells[r].size()) line += std::string(widths[i] - width(cells[r][i]) + 2, ' ');
    }
    if (r == 0 && bold_header) line = "\033[1m" + line + "\033[0m";
    out += line + "\n";
  }
  return out;
}

}  // namespace shadowctl
