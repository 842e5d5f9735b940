// A killed registry is replaced over the same table; nothing saved is lost.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/registry/registry_supervisor.hpp>

using namespace chanstate;
using chanstate::testing::channel_case;

namespace {

/// A channel_case whose registry sits behind a supervisor.
struct supervised_case : channel_case {
  std::shared_ptr<backup_table> table
    = std::make_shared<backup_table>(registry_config{});

  supervised_case() {
    caf::anon_send_exit(env().registry, caf::exit_reason::kill);
    env().registry = spawn_supervised_registry(system(), table);
    run();
    REQUIRE(!route("room:*", demo_channel_factory()));
  }

  caf::actor current_registry() {
    auto r = ask<caf::actor>(caf::actor_cast<caf::actor>(env().registry),
                             registry_now_atom::value);
    REQUIRE(r);
    return *r;
  }

  boost::json::value ns(const chanstate::testing::channel_handle& ch) {
    auto r = call(ch, "get");
    REQUIRE(r);
    return r->response["ns"];
  }
};

} // namespace

TEST_CASE_FIXTURE(supervised_case,
                  "a killed registry loses neither backups nor live commits") {
  // Step 1: two live channels with state, and one backup of a crashed one.
  auto a = join("room:1", "alice");
  auto b = join("room:1", "bob");
  auto c = join("room:1", "carol");
  push(a, "add", {{"n", 1}});
  push(b, "add", {{"n", 2}});
  push(c, "add", {{"n", 3}});
  crash(c);
  auto first = current_registry();
  // Step 2: the registry is killed under traffic.
  caf::anon_send_exit(first, caf::exit_reason::kill);
  push(a, "add", {{"n", 10}});
  run();
  auto second = current_registry();
  CHECK(second != first);
  // Step 3: traffic goes on; commits never needed the registry actor.
  push(b, "add", {{"n", 20}});
  CHECK(ns(a) == boost::json::array{1, 10});
  // Step 4: the new registry watches the live channels: a crash is kept.
  crash(a);
  auto a2 = rejoin(a);
  CHECK(join_reply(a2)->response["restored"] == true);
  CHECK(ns(a2) == boost::json::array{1, 10});
  // Step 5: the backup made before the restart is still there.
  auto c2 = rejoin(c);
  CHECK(join_reply(c2)->response["restored"] == true);
  CHECK(ns(c2) == boost::json::array{3});
  // Step 6: a kill after the restart keeps bob's last commit too.
  kill(b);
  auto b2 = rejoin(b);
  CHECK(ns(b2) == boost::json::array{2, 20});
  CHECK(table->counters().registry_restarts == 1);
}

TEST_CASE_FIXTURE(supervised_case,
                  "a registry that stops on purpose is not restarted") {
  auto first = current_registry();
  caf::anon_send_exit(caf::actor_cast<caf::actor>(env().registry),
                      caf::exit_reason::user_shutdown);
  run();
  CHECK(table->counters().registry_restarts == 0);
  auto a = try_join("room:1", "alice");
  REQUIRE(a);
  CHECK(!joined(*a)); // no registry: the join is refused, not hung
}
