#include "common/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace shadow::auth {

namespace {

// A credentials file holds a handful of keys; anything this big is a wrong
// path (a log, a database), not a credentials file.
constexpr off_t kMaxFileBytes = 1 << 20;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

Status line_error(std::size_t number, const std::string& what) {
  return Status::invalid_argument("line " + std::to_string(number) + ": " + what);
}

}  // namespace

bool CredentialStore::add(std::string access_key_id, std::string secret_access_key) {
  auto [it, added] = secrets_.emplace(access_key_id, std::move(secret_access_key));
  if (added) key_ids_.push_back(std::move(access_key_id));
  return added;
}

const std::string* CredentialStore::find_secret(std::string_view access_key_id) const {
  auto it = secrets_.find(access_key_id);
  return it == secrets_.end() ? nullptr : &it->second;
}

StatusOr<CredentialStore> parse_credentials(std::string_view text) {
  CredentialStore store;
  std::map<std::string, std::size_t, std::less<>> first_line;  // for the duplicate message
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);

    std::vector<std::string_view> fields = split_fields(line);
    if (fields.empty() || fields[0].front() == '#') continue;
    if (fields.size() != 2) {
      return line_error(number, "expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY', found " +
                                    std::to_string(fields.size()) + " field(s)");
    }
    std::string key(fields[0]);
    if (auto seen = first_line.find(key); seen != first_line.end()) {
      return line_error(number, "access key id '" + key + "' is already defined on line " +
                                    std::to_string(seen->second));
    }
    first_line.emplace(key, number);
    store.add(std::move(key), std::string(fields[1]));
  }
  return store;
}

StatusOr<LoadedCredentials> load_credentials_file(const std::string& path) {
  const std::string context = "credentials file '" + path + "'";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::io_error(context + ": " + std::strerror(errno));

  // fstat on the descriptor we read, so the checks apply to that very file.
  struct stat info {};
  std::string text;
  std::string error;
  if (::fstat(fd, &info) != 0) {
    error = std::strerror(errno);
  } else if (!S_ISREG(info.st_mode)) {
    error = "not a regular file";
  } else if (info.st_size > kMaxFileBytes) {
    error = "larger than " + std::to_string(kMaxFileBytes) + " bytes";
  } else {
    char buffer[4096];
    for (;;) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = std::strerror(errno);
        break;
      }
      if (n == 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
      if (text.size() > static_cast<std::size_t>(kMaxFileBytes)) {
        error = "larger than " + std::to_string(kMaxFileBytes) + " bytes";
        break;
      }
    }
  }
  ::close(fd);
  if (!error.empty()) return Status::io_error(context + ": " + error);

  StatusOr<CredentialStore> parsed = parse_credentials(text);
  if (!parsed.ok()) return parsed.status().with_context(context);
  LoadedCredentials loaded;
  loaded.store = std::move(parsed).value();
  loaded.readable_by_others = (info.st_mode & (S_IRGRP | S_IROTH)) != 0;
  return loaded;
}

}  // namespace shadow::auth
