// The REST credentials file: parsing, error messages with line numbers, and
// loading from disk (missing files, permissions).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/credentials.h"

using shadow::auth::CredentialStore;
using shadow::auth::load_credentials_file;
using shadow::auth::LoadedCredentials;
using shadow::auth::parse_credentials;

namespace {

std::string parse_error(std::string_view text) {
  auto result = parse_credentials(text);
  REQUIRE_FALSE(result.ok());
  return result.status().message();
}

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "shadow-creds-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path write(const std::string& name, const std::string& text, mode_t mode) {
    std::filesystem::path file = path / name;
    std::ofstream(file) << text;
    REQUIRE(::chmod(file.c_str(), mode) == 0);
    return file;
  }
};

}  // namespace

TEST_CASE("credentials: pairs, comments, blank lines and mixed whitespace", "[credentials]") {
  auto result = parse_credentials(
      "# REST API keys\n"
      "\n"
      "AKIDONE   secret/one+A\n"
      "   # indented comment\n"
      "\tAKIDTWO\tsecret2\r\n"
      "AKIDTHREE s3");  // no final newline
  REQUIRE(result.ok());
  const CredentialStore& store = result.value();
  CHECK(store.size() == 3);
  REQUIRE(store.find_secret("AKIDONE") != nullptr);
  CHECK(*store.find_secret("AKIDONE") == "secret/one+A");
  REQUIRE(store.find_secret("AKIDTWO") != nullptr);
  CHECK(*store.find_secret("AKIDTWO") == "secret2");  // the '\r' is not part of the secret
  REQUIRE(store.find_secret("AKIDTHREE") != nullptr);
  CHECK(*store.find_secret("AKIDTHREE") == "s3");
  CHECK(store.find_secret("AKIDFOUR") == nullptr);
  CHECK(store.find_secret("akidone") == nullptr);  // key ids are case-sensitive
  // File order, not sorted order.
  CHECK(store.key_ids() == std::vector<std::string>{"AKIDONE", "AKIDTWO", "AKIDTHREE"});
}

TEST_CASE("credentials: an empty or comment-only file gives an empty store", "[credentials]") {
  for (std::string_view text : {"", "\n\n", "# nothing yet\n  \n"}) {
    auto result = parse_credentials(text);
    REQUIRE(result.ok());
    CHECK(result.value().size() == 0);
  }
}

TEST_CASE("credentials: malformed lines are reported with their number", "[credentials]") {
  CHECK(parse_error("AKIDONE s1\n\nAKIDTWO\n") ==
        "line 3: expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY', found 1 field(s)");
  CHECK(parse_error("# c\nAKIDONE s1 # trailing comment\n") ==
        "line 2: expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY', found 5 field(s)");
  CHECK(parse_error("AKIDONE s1\r\nAKIDTWO s2\r\nAKIDONE s3\r\n") ==
        "line 3: access key id 'AKIDONE' is already defined on line 1");
}

TEST_CASE("credentials: add refuses a duplicate key id", "[credentials]") {
  CredentialStore store;
  CHECK(store.add("AKID", "first"));
  CHECK_FALSE(store.add("AKID", "second"));
  CHECK(*store.find_secret("AKID") == "first");
  CHECK(store.key_ids() == std::vector<std::string>{"AKID"});
}

TEST_CASE("credentials: loading a file and its permissions", "[credentials]") {
  TempDir dir;
  SECTION("owner-only file") {
    auto file = dir.write("creds", "AKIDONE s1\n", 0600);
    auto result = load_credentials_file(file.string());
    REQUIRE(result.ok());
    const auto& loaded = result.value();
    CHECK_FALSE(loaded.readable_by_others);
    REQUIRE(loaded.store.find_secret("AKIDONE") != nullptr);
    CHECK(*loaded.store.find_secret("AKIDONE") == "s1");
  }
  SECTION("group- or world-readable files load but are flagged") {
    for (mode_t mode : {mode_t{0640}, mode_t{0604}, mode_t{0644}}) {
      auto file = dir.write("creds", "AKIDONE s1\n", mode);
      auto result = load_credentials_file(file.string());
      REQUIRE(result.ok());
      CHECK(result.value().readable_by_others);
    }
  }
  SECTION("missing file") {
    std::string path = (dir.path / "absent").string();
    auto result = load_credentials_file(path);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().message() ==
          "credentials file '" + path + "': No such file or directory");
  }
  SECTION("a directory is not a credentials file") {
    auto result = load_credentials_file(dir.path.string());
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.status().message(), Catch::EndsWith("not a regular file"));
  }
  SECTION("parse errors name the file and the line") {
    auto file = dir.write("creds", "AKIDONE s1\nbroken\n", 0600);
    auto result = load_credentials_file(file.string());
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().message() ==
          "credentials file '" + file.string() +
              "': line 2: expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY', found 1 field(s)");
  }
  if (::geteuid() != 0) {  // root reads anything, so only meaningful for other users
    SECTION("unreadable file") {
      auto file = dir.write("creds", "AKIDONE s1\n", 0000);
      auto result = load_credentials_file(file.string());
      REQUIRE_FALSE(result.ok());
      CHECK_THAT(result.status().message(), Catch::EndsWith("Permission denied"));
    }
  }
}
