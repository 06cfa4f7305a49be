// Which access key shadowctl signs with, from the global options and the
// environment. The credentials file has the broker's format and is read with
// the broker's own parser (common/credentials.h).
#pragma once

#include <optional>
#include <string>

#include "tools/shadowctl/cli.h"
#include "tools/shadowctl/http_client.h"

namespace shadowctl {

struct KeyChoice {
  std::optional<AccessKey> key;  // nullopt: send unsigned requests
  std::string source;            // for messages: "--credentials-file x", "environment", ...
};

// Precedence: --no-auth; --access-key with --secret-key; --credentials-file
// (the key named by --access-key, else the file's first key);
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; otherwise unsigned. Returns
// nullopt with `error` set when the options contradict or the file is bad.
std::optional<KeyChoice> choose_access_key(const GlobalOptions& options, std::string* error);

}  // namespace shadowctl
