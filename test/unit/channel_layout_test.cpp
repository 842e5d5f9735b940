// What one idle channel holds: size guards and the key kept once.
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <chanstate/actors/channel_state.hpp>
#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/registry/backup_table.hpp>
#include <chanstate/registry/commit_cell.hpp>

using namespace chanstate;

namespace {

// Every byte of these is a byte per live channel (README, "Memory per
// channel and per backup"). A member added here should be worth it: raise
// the bound together with the README's per-channel figures. The actor's
// bound is also an allocator size class: with the 64 B CAF puts in front
// of it, 1 280 B is one of mimalloc's bins, and the next one is 1 536 B.
TEST_CASE("an idle channel's state, socket and commit cell stay small") {
  CHECK(sizeof(channel_parts::channel_state) <= 192);
  CHECK(sizeof(socket) <= 96);
  CHECK(sizeof(commit_cell) <= 160);
  // The CAF actor around the state: 1 024 B of it are CAF's own (its
  // event_based_actor and the reference to the state).
  CHECK(sizeof(caf::stateful_actor<channel_parts::channel_state>)
        <= 1216);
}

TEST_CASE("a channel's socket takes its key from its commit cell") {
  auto cell = std::make_shared<commit_cell>(
    snapshot::from_object({{"x", 1}}), std::vector<snapshot>{}, 2,
    backup_key{"room:1", "client-with-a-long-identifier-past-sso"});
  socket s{commit_sink{cell}, "1", true, ""};
  // The same strings, not copies.
  CHECK(&s.topic() == &cell->key().topic);
  CHECK(&s.client_id() == &cell->key().client_id);
  CHECK(s.get("x")->as_int64() == 1);
  CHECK(s.restored());
  CHECK(s.restore_note().empty());
  CHECK(s.fallback_generation() == 0);
}

TEST_CASE("a socket that owns its key keeps it across a move") {
  socket a{"room:2", "a-client-id-too-long-for-the-small-string", "3",
           snapshot{}, false, ""};
  socket b{std::move(a)};
  CHECK(b.topic() == "room:2");
  CHECK(b.client_id() == "a-client-id-too-long-for-the-small-string");
  CHECK(b.join_ref() == "3");
  CHECK(b.restore_note().empty());
  CHECK(b.claims().empty());
}

caf::behavior stand_in(caf::event_based_actor*, int) {
  return {[](int) {}};
}

TEST_CASE("the registry finds a live channel by any equal key, and the "
          "channel's cell holds the only copy") {
  testing::channel_case bench;
  auto spawn = [&] {
    auto a = bench.system().spawn(stand_in, 0);
    bench.watch(a);
    return a.address();
  };
  backup_table table{registry_config{}};
  auto first = spawn();
  restore_outcome out;
  {
    // The caller's key goes away; the table keeps the cell's.
    backup_key key{"room:9", std::string(40, 'c')};
    out = table.attach(key, first, time_point{});
  }
  backup_key probe{"room:9", std::string(40, 'c')};
  REQUIRE(table.live_channel(probe));
  CHECK(*table.live_channel(probe) == first);
  CHECK(table.live_cell(probe) == out.cell);
  CHECK(out.cell->key() == probe);
  // A reattach replaces the live channel and its cell: lookups follow the
  // new cell's key, and the replaced channel's down finds nothing.
  auto second = spawn();
  table.reattach(probe, second, snapshot::from_object({{"x", 1}}));
  out.cell.reset();
  REQUIRE(table.live_channel(probe));
  CHECK(*table.live_channel(probe) == second);
  CHECK(table.live_count() == 1);
  CHECK_FALSE(table.detach(first, caf::none, time_point{}));
  // The live channel's end detaches it by its address.
  auto key = table.detach(second, caf::none, time_point{});
  REQUIRE(key);
  CHECK(*key == probe);
  CHECK(table.live_count() == 0);
  CHECK_FALSE(table.live_channel(probe));
}

} // namespace
