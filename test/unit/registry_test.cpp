// The registry actor's API: import, export, stats, and its refusals.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/registry/registry_error.hpp>

using namespace chanstate;
using namespace chanstate::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

TEST_CASE_FIXTURE(channel_case, "an imported backup can be read back") {
  auto bytes = put_backup("room:1", "alice", R"({"ns":[1,2],"name":"a"})");
  REQUIRE(bytes);
  CHECK(*bytes > 0);
  CHECK(*bytes == table().backup_bytes());
  CHECK(backup("room:1", "alice")
        == json::object{{"name", "a"}, {"ns", json::array{1, 2}}});
  CHECK(stats().at("imported") == 1);
}

TEST_CASE_FIXTURE(channel_case, "bad imports are refused with clear errors "
                                "and harm no backup") {
  REQUIRE(put_backup("room:1", "alice", R"({"x":1})"));
  auto refused = [&](const std::string& topic, const std::string& client,
                     const std::string& text, registry_error code) {
    auto r = put_backup(topic, client, text);
    REQUIRE_FALSE(r);
    CHECK(r.error() == code);
    CHECK(describe(r.error()).find(to_string(code)) == 0);
  };
  refused("room:1", "alice", "[1,2]", registry_error::not_an_object);
  refused("room:1", "alice", "42", registry_error::not_an_object);
  refused("room:1", "alice", "{\"x\":", registry_error::invalid_json);
  refused("room:1", "alice", "", registry_error::invalid_json);
  refused("", "alice", "{}", registry_error::invalid_key);
  refused("room:1", "", "{}", registry_error::invalid_key);
  // The same key's backup is untouched by the refused imports.
  CHECK(backup("room:1", "alice") == json::object{{"x", 1}});
  auto s = stats();
  CHECK(s.at("backups") == 1);
  CHECK(s.at("imported") == 1);
}

TEST_CASE_FIXTURE(channel_case, "reading a missing backup says no_backup") {
  auto r = ask<std::string>(env().registry, caf::get_atom::value,
                            backup_key{"room:1", "nobody"});
  REQUIRE_FALSE(r);
  CHECK(r.error() == registry_error::no_backup);
  CHECK_FALSE(backup("room:1", "nobody"));
}

TEST_CASE_FIXTURE(channel_case, "a restore without a key or a channel is "
                                "refused") {
  auto probe = transport_of("x");
  auto r1 = ask<restore_outcome>(env().registry, restore_atom::value,
                                 backup_key{"", "alice"}, probe);
  REQUIRE_FALSE(r1);
  CHECK(r1.error() == registry_error::invalid_key);
  auto r2 = ask<restore_outcome>(env().registry, restore_atom::value,
                                 backup_key{"room:1", ""}, probe);
  REQUIRE_FALSE(r2);
  CHECK(r2.error() == registry_error::invalid_key);
  auto r3 = ask<restore_outcome>(env().registry, restore_atom::value,
                                 backup_key{"room:1", "alice"}, caf::actor{});
  REQUIRE_FALSE(r3);
  CHECK(r3.error() == registry_error::invalid_key);
  CHECK(stats().at("live_channels") == 0);
}

TEST_CASE("an expired backup is gone for get before the next sweep") {
  case_options opts;
  opts.registry.backup_ttl = 1s;
  opts.registry.sweep_interval = 1h;
  channel_case t{opts};
  REQUIRE(t.put_backup("room:1", "a", "{\"n\":1}"));
  t.advance(999ms);
  CHECK(t.backup("room:1", "a"));
  t.advance(1ms);
  CHECK_FALSE(t.backup("room:1", "a"));
  CHECK(t.stats().at("drops").at("expired") == 1);
}

TEST_CASE("imported backups follow the TTL and the caps") {
  case_options opts;
  opts.registry.backup_ttl = 3s;
  opts.registry.sweep_interval = 1s;
  opts.registry.max_backups = 2;
  channel_case t{opts};
  REQUIRE(t.put_backup("room:1", "a", "{}"));
  t.advance(1s);
  REQUIRE(t.put_backup("room:1", "b", "{}"));
  REQUIRE(t.put_backup("room:1", "c", "{}"));
  CHECK_FALSE(t.backup("room:1", "a"));
  CHECK(t.stats().at("drops").at("evicted") == 1);
  t.advance(3s - 1ms);
  CHECK(t.backup("room:1", "b"));
  t.advance(1ms);
  CHECK_FALSE(t.backup("room:1", "b"));
  CHECK_FALSE(t.backup("room:1", "c"));
  auto s = t.stats();
  CHECK(s.at("drops").at("expired") == 2);
  CHECK(s.at("backups") == 0);
  CHECK(s.at("backup_bytes") == 0);
}

TEST_CASE_FIXTURE(channel_case, "stats report the configured limits") {
  auto lim = stats().at("limits").as_object();
  registry_config defaults;
  CHECK(lim.at("backup_ttl_ms") == defaults.backup_ttl.count());
  CHECK(lim.at("max_backups") == defaults.max_backups);
  CHECK(lim.at("max_backup_bytes") == defaults.max_backup_bytes);
  CHECK(lim.at("poison_crashes") == defaults.poison_crashes);
  CHECK(lim.at("generations") == defaults.generations);
  CHECK(lim.at("down_wait_ms") == defaults.down_wait.count());
}
