#include "plugin/rules/sql/topic_filter.h"

#include "shadow_core/json.h"

namespace shadow::rules::sql {

bool TopicFilter::validate(std::string_view filter, std::string* why) {
  auto reject = [&](const char* reason) {
    *why = reason;
    return false;
  };
  if (filter.empty()) return reject("the topic filter is empty");
  if (filter.size() > 65535) return reject("the topic filter is longer than 65535 bytes");
  if (filter.find('\0') != std::string_view::npos) return reject("the topic filter contains a NUL character");
  if (!json::is_valid_utf8(filter)) return reject("the topic filter is not valid UTF-8");
  size_t start = 0;
  for (;;) {
    size_t end = filter.find('/', start);
    bool last = end == std::string_view::npos;
    std::string_view level = filter.substr(start, last ? std::string_view::npos : end - start);
    if (level.find('#') != std::string_view::npos && (level != "#" || !last))
      return reject("'#' must be the last level of the filter and alone in it");
    if (level.find('+') != std::string_view::npos && level != "+")
      return reject("'+' must be alone in its level");
    if (last) return true;
    start = end + 1;
  }
}

bool TopicFilter::topic_matches(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic.front() == '$' && !filter.empty() && (filter.front() == '+' || filter.front() == '#'))
    return false;
  size_t f = 0, t = 0;
  for (;;) {
    size_t f_end = filter.find('/', f);
    if (f_end == std::string_view::npos) f_end = filter.size();
    std::string_view level = filter.substr(f, f_end - f);
    if (level == "#") return true;  // this level and all below, or none: a/# matches a
    size_t t_end = topic.find('/', t);
    if (t_end == std::string_view::npos) t_end = topic.size();
    if (level != "+" && level != topic.substr(t, t_end - t)) return false;
    bool filter_done = f_end == filter.size();
    bool topic_done = t_end == topic.size();
    if (filter_done || topic_done) {
      if (filter_done && topic_done) return true;
      // The topic ended first: only a remaining "/#" still matches.
      return topic_done && filter.substr(f_end) == "/#";
    }
    f = f_end + 1;
    t = t_end + 1;
  }
}

}  // namespace shadow::rules::sql
