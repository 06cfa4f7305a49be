#include "tools/shadowctl/auth.h"

#include <cstdlib>
#include <variant>

#include "common/credentials.h"

namespace shadowctl {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

std::optional<KeyChoice> choose_access_key(const GlobalOptions& o, std::string* error) {
  KeyChoice choice;
  if (o.no_auth) {
    if (!o.access_key.empty() || !o.secret_key.empty() || !o.credentials_file.empty()) {
      *error = "--no-auth cannot be combined with --access-key, --secret-key or --credentials-file";
      return std::nullopt;
    }
    choice.source = "--no-auth";
    return choice;
  }

  if (!o.credentials_file.empty()) {
    if (!o.secret_key.empty()) {
      *error = "give either --secret-key or --credentials-file, not both";
      return std::nullopt;
    }
    auto loaded = shadow::auth::load_credentials_file(o.credentials_file);
    if (!loaded.ok()) {
      *error = loaded.status().message();
      return std::nullopt;
    }
    const shadow::auth::CredentialStore& store = loaded->store;
    std::string id = o.access_key;
    if (id.empty() && !store.key_ids().empty()) id = store.key_ids().front();  // the file's first
    const std::string* secret = id.empty() ? nullptr : store.find_secret(id);
    if (secret == nullptr) {
      *error = id.empty() ? o.credentials_file + " holds no access key"
                          : "access key '" + id + "' is not in " + o.credentials_file;
      return std::nullopt;
    }
    choice.key = AccessKey{id, *secret};
    choice.source = "key " + id + " from " + o.credentials_file;
    return choice;
  }

  std::string id = !o.access_key.empty() ? o.access_key : env("AWS_ACCESS_KEY_ID");
  std::string secret = !o.secret_key.empty() ? o.secret_key : env("AWS_SECRET_ACCESS_KEY");
  if (id.empty() && secret.empty()) {
    choice.source = "no credentials";
    return choice;
  }
  if (id.empty() || secret.empty()) {
    *error = id.empty() ? "a secret key was given but no access key id "
                          "(--access-key or AWS_ACCESS_KEY_ID)"
                        : "access key id '" + id + "' was given without its secret "
                          "(--secret-key or AWS_SECRET_ACCESS_KEY)";
    return std::nullopt;
  }
  choice.key = AccessKey{id, secret};
  choice.source = o.access_key.empty() ? "key " + id + " from the environment" : "key " + id;
  return choice;
}

}  // namespace shadowctl
