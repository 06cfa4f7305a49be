// The access keys the REST API accepts: a credentials file with one
// `ACCESS_KEY_ID SECRET_ACCESS_KEY` pair per line, and the lookup the SigV4
// verifier uses. Pure code (no broker headers); errors are values.
//
// File format:
//   # comment lines start with '#' (after optional whitespace)
//   AKIDEXAMPLE  wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
// Fields are separated by spaces or tabs; blank lines are ignored; CRLF line
// ends are accepted. Exactly two fields per line, and an access key id may
// appear only once. A file with no pairs is valid (every request is then
// rejected as carrying an unknown key).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shadow::auth {

class CredentialStore {
 public:
  // Adds a pair; returns false (and changes nothing) if the key id exists.
  bool add(std::string access_key_id, std::string secret_access_key);

  // The secret for `access_key_id`, or nullptr if the key is unknown. The
  // pointer stays valid until the store is modified or destroyed.
  const std::string* find_secret(std::string_view access_key_id) const;

  std::size_t size() const { return secrets_.size(); }

  // The access key ids in the order they were added: file order for a
  // parsed file, so a client can default to the file's first key.
  const std::vector<std::string>& key_ids() const { return key_ids_; }

 private:
  std::map<std::string, std::string, std::less<>> secrets_;
  std::vector<std::string> key_ids_;
};

// The parsed store, or an invalid-argument error naming the offending line
// ("line 3: ..."). `text` is the whole file content.
StatusOr<CredentialStore> parse_credentials(std::string_view text);

struct LoadedCredentials {
  CredentialStore store;
  // True when group or others may read the file: the caller should warn,
  // since the file holds secrets (the load still succeeds).
  bool readable_by_others = false;
};

// Reads and parses the file at `path`. Errors say which file and why
// (missing, unreadable, not a regular file, too large, or a parse error with
// its line number).
StatusOr<LoadedCredentials> load_credentials_file(const std::string& path);

}  // namespace shadow::auth
