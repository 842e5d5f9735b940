// The channel actor's restore against the registry: events held until the
// restore answers, rejoins racing a down, takeovers and down_wait.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "probe_case.hpp"

using namespace chanstate;
using namespace chanstate::testing;
using namespace std::chrono_literals;
using chanstate::test::probe_case;
namespace json = boost::json;

namespace {

caf::behavior frozen_channel(caf::event_based_actor* self, int) {
  // A channel on a frozen node: it never reacts to the takeover's exit.
  self->set_exit_handler([](caf::exit_msg&) {});
  return {[](int) {}};
}

} // namespace

// -- restore ordering and races -----------------------------------------------

TEST_CASE_FIXTURE(probe_case, "events sent before the restore answer are "
                              "handled afterwards, in order, against the "
                              "restored state") {
  // Step 1: alice's first channel holds ns [1].
  auto ch1 = join("room:1", "alice");
  push(ch1, "add", {{"n", 1}});
  autorun = false;
  // Step 2: she joins again and pushes at once; nothing has run yet.
  auto ch2 = join("room:1", "alice");
  push(ch2, "add", {{"n", 2}});
  push(ch2, "add", {{"n", 3}});
  auto ref = send_call(ch2, "get");
  // Step 3: the new channel asks the registry; the registry finds the key
  // live in ch1 and waits for it to go down.
  CHECK(run_one(ch2));
  CHECK(run_one(env().registry));
  CHECK(frames(ch2).empty());
  CHECK(alive(ch1));
  CHECK(live("room:1", "alice") == json::object{{"ns", json::array{1}}});
  // Step 4: ch1 ends (taken over), the registry answers, ch2 serves.
  run();
  CHECK(*exit_reason(ch1) == channel_exit::taken_over);
  const auto& fs = frames(ch2);
  REQUIRE(fs.size() == 2);
  CHECK(fs[0].kind == frame_kind::join_ok);
  CHECK(join_reply(ch2)->response
        == json::object{{"restored", true}, {"ns", json::array{1}}});
  auto r = reply_to(ch2, ref);
  REQUIRE(r);
  CHECK(r->response == json::object{{"ns", json::array{1, 2, 3}}});
}

TEST_CASE_FIXTURE(probe_case, "a rejoin that reaches the registry before the "
                              "crash's down is restored") {
  auto ch1 = alice_with_x();
  autorun = false;
  crash(ch1);                          // queued, not handled yet
  auto ch2 = rejoin(ch1);              // spawned, not run yet
  CHECK(run_one(ch2));                 // restore request → registry
  CHECK(run_one(ch1));                 // ch1 throws; its down queues behind
  CHECK(*exit_reason(ch1) == channel_exit::crashed);
  REQUIRE(table().live_channel({"probe:1", "alice"}));
  CHECK(*table().live_channel({"probe:1", "alice"}) == ch1.actor.address());
  run();                               // restore waits, then the down
  autorun = true;
  CHECK(restored(ch2) == true);
  CHECK(assigns(ch2) == json::object{{"x", 1}});
  CHECK(stat("exits", "kept_after_crash") == 1);
  CHECK(stat(nullptr, "down_wait_timeouts") == 0);
}

TEST_CASE_FIXTURE(probe_case, "a rejoin that reaches the registry before the "
                              "leave's down starts fresh") {
  auto ch1 = alice_with_x();
  autorun = false;
  leave(ch1);
  auto ch2 = rejoin(ch1);
  CHECK(run_one(ch2));
  CHECK(run_one(ch1));
  CHECK_FALSE(*exit_reason(ch1));
  REQUIRE(table().live_channel({"probe:1", "alice"}));
  run();
  autorun = true;
  CHECK(restored(ch2) == false);
  CHECK(assigns(ch2).empty());
  CHECK(stat("exits", "discarded_normal") == 1);
  CHECK(stat("restores", "fresh") == 2);
}

TEST_CASE_FIXTURE(probe_case, "a join for a live key takes its state over and "
                              "ends the old channel") {
  auto ch1 = alice_with_x();
  auto ch2 = rejoin(ch1);
  REQUIRE(exit_reason(ch1));
  CHECK(*exit_reason(ch1) == channel_exit::taken_over);
  CHECK(restored(ch2) == true);
  CHECK(assigns(ch2) == json::object{{"x", 1}});
  CHECK(stat("restores", "from_takeover") == 1);
  CHECK(stat(nullptr, "live_channels") == 1);
  CHECK(stat(nullptr, "backups") == 0);
}

TEST_CASE_FIXTURE(probe_case, "a join waits at most down_wait for an old "
                              "channel that never goes down") {
  const auto wait = table().config().down_wait;
  // Step 1: a channel on a frozen node holds alice's key with ns [7].
  auto frozen = system().spawn(frozen_channel, 0);
  watch(frozen);
  auto out = ask<restore_outcome>(env().registry, restore_atom::value,
                                  backup_key{"room:1", "alice"}, frozen);
  REQUIRE(out);
  out->cell->store(snapshot::from_object({{"ns", json::array{7}}}));
  // Step 2: alice joins elsewhere and pushes at once.
  auto ch = join("room:1", "alice");
  push(ch, "add", {{"n", 8}});
  auto ref = send_call(ch, "get");
  run();
  CHECK(frames(ch).empty());
  advance(wait - 1ms);
  CHECK(frames(ch).empty());
  CHECK(alive(ch));
  // Step 3: down_wait passes: served from the frozen channel's last commit.
  advance(1ms);
  REQUIRE(joined(ch));
  CHECK(join_reply(ch)->response
        == json::object{{"restored", true}, {"ns", json::array{7}}});
  REQUIRE(reply_to(ch, ref));
  CHECK(reply_to(ch, ref)->response
        == json::object{{"ns", json::array{7, 8}}});
  CHECK(stat(nullptr, "down_wait_timeouts") == 1);
}

TEST_CASE_FIXTURE(probe_case, "of two joins waiting for the same key the "
                              "newer wins and the older is refused") {
  auto frozen = system().spawn(frozen_channel, 0);
  watch(frozen);
  auto out = ask<restore_outcome>(env().registry, restore_atom::value,
                                  backup_key{"room:1", "alice"}, frozen);
  REQUIRE(out);
  auto older = join("room:1", "alice");
  auto newer = join("room:1", "alice");
  REQUIRE(join_reply(older));
  CHECK(join_reply(older)->status == "error");
  CHECK(join_reply(older)->response.at("detail").as_string().find(
          "superseded")
        == 0);
  CHECK(*exit_reason(older) == channel_exit::join_refused);
  CHECK_FALSE(join_reply(newer));
  advance(table().config().down_wait);
  CHECK(joined(newer));
  CHECK(stat(nullptr, "superseded_joins") == 1);
}
