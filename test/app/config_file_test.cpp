// chanstate-node's config file format: comments, sections, unknown keys.
#include <doctest/doctest.h>

#include <set>
#include <vector>
#include <string>

#include <caf/message.hpp>

#include "app/config_file.hpp"

using namespace chanstate;

namespace {

bool known(std::string_view section, std::string_view key) {
  static const std::set<std::string> keys{"global.port", "global.host",
                                          "global.max-channels",
                                          "scheduler.max-threads"};
  return keys.count(std::string{section} + "." + std::string{key}) > 0;
}

std::string error_text(const caf::expected<std::string>& r) {
  REQUIRE_FALSE(r);
  return r.error().context().get_as<std::string>(0);
}

} // namespace

TEST_CASE("# and ; comments go, whole-line or after a value; quoted ones stay") {
  auto r = clean_config("# a comment\n"
                        "; another\n"
                        "port = 4001 # after a value\n"
                        "host = \"a#b;c\" ; after a string\n"
                        "\n"
                        "[scheduler]\n"
                        "max-threads = 2\n",
                        known);
  REQUIRE(r);
  CHECK(*r
        == "\n\nport = 4001\nhost = \"a#b;c\"\n\n[scheduler]\nmax-threads = 2\n");
}

TEST_CASE("an unknown key is refused with its line and its option name") {
  auto r = clean_config("port = 1\nmax-chanels = 10\n", known);
  CHECK(error_text(r)
        == "config file line 2: unknown option --max-chanels (in the file: "
           "max-chanels)");
}

TEST_CASE("keys are looked up in their section") {
  CHECK(clean_config("[scheduler]\nmax-threads = 2\n", known));
  auto r = clean_config("[scheduler]\nport = 2\n", known);
  CHECK(error_text(r).find("--scheduler.port") != std::string::npos);
  CHECK_FALSE(clean_config("max-threads = 2\n", known));
}

TEST_CASE("a line that is neither key = value nor [section] is refused") {
  auto r = clean_config("port 4000\n", known);
  CHECK(error_text(r) == "config file line 1: expected key = value, got: port 4000");
  CHECK_FALSE(clean_config("[scheduler\n", known));
  CHECK_FALSE(clean_config("= 3\n", known));
}

TEST_CASE("a value the check refuses is an error with its line; the check "
          "sees the value without its comment") {
  std::vector<std::string> seen;
  auto check = [&](std::string_view section, std::string_view key,
                   std::string_view value) -> std::string {
    seen.push_back(std::string{section} + "." + std::string{key} + "="
                   + std::string{value});
    return value == "\"sharing\"" ? "not an atom" : "";
  };
  auto ok = clean_config("port = 4001 # x\n[scheduler]\nmax-threads = 1\n",
                         known, check);
  REQUIRE(ok);
  CHECK(seen
        == std::vector<std::string>{"global.port=4001",
                                    "scheduler.max-threads=1"});
  auto bad = clean_config(
    "port = 1\n\n[scheduler]\nmax-threads = \"sharing\"\n", known, check);
  CHECK(error_text(bad) == "config file line 4: not an atom");
}
