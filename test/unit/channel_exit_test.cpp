// The channel actor's exit matrix: every way a channel ends, and whether
// its backup is kept or discarded.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/transport_watch.hpp>
#include "probe_case.hpp"

using namespace chanstate;
using namespace chanstate::testing;
using namespace std::chrono_literals;
using chanstate::test::probe_case;
using chanstate::test::terminate_log;
namespace json = boost::json;

// -- the exit matrix, row by row ----------------------------------------------

TEST_CASE_FIXTURE(probe_case, "a crashed channel resumes from its last commit") {
  auto ch = alice_with_x();
  crash(ch);
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == channel_exit::crashed);
  CHECK(stat("exits", "kept_after_crash") == 1);
  expect_kept(ch);
  CHECK(stat("restores", "from_backup") == 1);
}

TEST_CASE_FIXTURE(probe_case, "a channel that stops with an error keeps its "
                              "backup") {
  auto ch = alice_with_x();
  push(ch, "stop_error");
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == caf::sec::invalid_argument);
  CHECK(stat("exits", "kept_after_crash") == 1);
  expect_kept(ch);
}

TEST_CASE_FIXTURE(probe_case, "a killed channel keeps its last commit") {
  auto ch = alice_with_x();
  kill(ch);
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == caf::exit_reason::kill);
  expect_kept(ch);
}

// A socket outlives many channels (crash, leave, rejoin). In CAF 0.17 a
// monitor lives on the monitored actor, so a channel's monitor of its
// transport would keep the ended channel's storage (~1.5 KB) alive until
// the connection closes: the node grew ~0.5 MB/s under `make soak`.
TEST_CASE_FIXTURE(probe_case, "an ended channel leaves no reference on its "
                              "still-open transport") {
  for (auto end : {+[](probe_case& c, const channel_handle& ch) { c.leave(ch); },
                   +[](probe_case& c, const channel_handle& ch) { c.crash(ch); },
                   +[](probe_case& c, const channel_handle& ch) { c.kill(ch); }}) {
    auto ch = join("room:a", "alice");
    auto addr = ch.actor.address();
    end(*this, ch);
    REQUIRE_FALSE(alive(ch));
    run();
    // The fixture keeps a strong reference (one weak count for all strong
    // ones), plus our address: nothing else may still point at it.
    auto* ctrl = caf::actor_cast<caf::actor_control_block*>(addr);
    CHECK(ctrl->weak_refs.load() == 2);
  }
}

// Channels of one transport share one watch on it (not a monitor each, whose
// removal walks every other channel's in CAF 0.17): each join adds one entry,
// each end removes it, and the transport's end still reaches those left.
TEST_CASE_FIXTURE(probe_case, "channels sharing a transport are watched once "
                              "and forgotten as they end") {
  auto a = join("room:a", "alice");
  auto b = join("room:b", "alice");
  auto c = join("room:c", "alice");
  auto tr = transport_of("alice").address();
  CHECK(watched_channels(tr) == 3);
  leave(a);
  crash(b);
  run();
  CHECK(watched_channels(tr) == 1);
  drop_transport("alice");
  REQUIRE(exit_reason(c));
  CHECK(*exit_reason(c) == channel_exit::transport_lost);
  CHECK(watched_channels(tr) == 0);
}

TEST_CASE_FIXTURE(probe_case, "a dropped transport keeps the backup without "
                              "counting a crash") {
  auto ch = alice_with_x();
  drop_transport(ch);
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == channel_exit::transport_lost);
  CHECK(stat("exits", "kept_after_other") == 1);
  CHECK(stat("exits", "kept_after_crash") == 0);
  expect_kept(ch);
}

TEST_CASE_FIXTURE(probe_case, "a channel whose node is unreachable keeps its "
                              "backup") {
  auto ch = alice_with_x();
  exit(ch, caf::exit_reason::remote_link_unreachable);
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == caf::exit_reason::remote_link_unreachable);
  CHECK(stat("exits", "kept_after_other") == 1);
  expect_kept(ch);
}

TEST_CASE_FIXTURE(probe_case, "a leave discards the backup and answers the "
                              "leave") {
  auto ch = alice_with_x();
  leave(ch);
  REQUIRE(exit_reason(ch));
  CHECK_FALSE(*exit_reason(ch));
  auto replies = frames(ch, frame_kind::reply);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].payload.value.at("status") == "ok");
  expect_discarded(ch);
}

TEST_CASE_FIXTURE(probe_case, "a clean close discards the backup") {
  auto ch = alice_with_x();
  close(ch);
  REQUIRE(exit_reason(ch));
  CHECK_FALSE(*exit_reason(ch));
  expect_discarded(ch);
}

TEST_CASE_FIXTURE(probe_case, "a transport that ends normally ends its "
                              "channels normally") {
  auto ch = alice_with_x();
  close_transport("alice");
  REQUIRE(exit_reason(ch));
  CHECK_FALSE(*exit_reason(ch));
  expect_discarded(ch);
}

TEST_CASE_FIXTURE(probe_case, "a close with an error keeps the backup") {
  auto ch = alice_with_x();
  close(ch, caf::make_error(channel_exit::transport_lost, "heartbeat"));
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == channel_exit::transport_lost);
  expect_kept(ch);
}

TEST_CASE_FIXTURE(probe_case, "a channel that stops normally discards its "
                              "backup") {
  auto ch = alice_with_x();
  auto r = call(ch, "stop");
  REQUIRE(r);
  CHECK(r->status == "ok");
  REQUIRE(exit_reason(ch));
  CHECK_FALSE(*exit_reason(ch));
  expect_discarded(ch);
}

TEST_CASE_FIXTURE(probe_case, "a node shutdown discards the backup") {
  auto ch = alice_with_x();
  exit(ch, caf::exit_reason::user_shutdown);
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == caf::exit_reason::user_shutdown);
  expect_discarded(ch);
}

TEST_CASE_FIXTURE(probe_case, "a transport stopped by a node shutdown "
                              "discards the backup") {
  auto ch = alice_with_x();
  drop_transport(ch, caf::exit_reason::user_shutdown);
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == caf::exit_reason::user_shutdown);
  expect_discarded(ch);
}

TEST_CASE_FIXTURE(probe_case, "terminate runs for leave, close and stop but "
                              "not for a crash or a kill") {
  auto a = join("probe:a", "alice");
  auto b = join("probe:b", "alice");
  auto c = join("probe:c", "alice");
  auto d = join("probe:d", "alice");
  auto e = join("probe:e", "alice");
  leave(a);
  close(b);
  push(c, "stop");
  crash(d);
  kill(e);
  CHECK(terminate_log()
        == std::vector<std::string>{"probe:a: normal", "probe:b: normal",
                                    "probe:c: normal"});
}
