// The channel actor: restore, hold, serve, commit, and every way it ends.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/actors/transport_watch.hpp>
#include "probe_channel.hpp"

using namespace chanstate;
using namespace chanstate::testing;
using namespace std::chrono_literals;
using chanstate::test::probe_channel_factory;
using chanstate::test::terminate_log;
namespace json = boost::json;

namespace {

/// The bench with the probe channel on "probe:*" and the demo on "room:*".
struct probe_case : channel_case {
  explicit probe_case(case_options opts = {}) : channel_case(std::move(opts)) {
    REQUIRE(!route("probe:*", probe_channel_factory()));
    REQUIRE(!route("room:*", demo_channel_factory()));
    terminate_log().clear();
  }

  void set(const channel_handle& ch, const char* key, json::value v) {
    push(ch, "set", {{"key", key}, {"value", std::move(v)}});
  }

  json::object assigns(const channel_handle& ch) {
    auto r = call(ch, "get");
    REQUIRE(r);
    REQUIRE(r->status == "ok");
    return r->response.at("assigns").as_object();
  }

  json::value restored(const channel_handle& ch) {
    auto r = join_reply(ch);
    REQUIRE(r);
    return r->response.at("restored");
  }

  std::uint64_t stat(const char* group, const char* name) {
    auto s = stats();
    return group ? s.at(group).at(name).to_number<std::uint64_t>()
                 : s.at(name).to_number<std::uint64_t>();
  }

  /// Joins probe:1 as alice with {"x": 1} committed.
  channel_handle alice_with_x() {
    auto ch = join("probe:1", "alice");
    REQUIRE(joined(ch));
    CHECK(restored(ch) == false);
    set(ch, "x", 1);
    REQUIRE(live("probe:1", "alice") == json::object{{"x", 1}});
    return ch;
  }

  /// The common tail of the "kept" rows: a backup, and a restoring rejoin.
  void expect_kept(const channel_handle& ch) {
    CHECK_FALSE(alive(ch));
    CHECK(backup("probe:1", "alice") == json::object{{"x", 1}});
    auto again = rejoin(ch);
    CHECK(restored(again) == true);
    CHECK(assigns(again) == json::object{{"x", 1}});
  }

  /// The common tail of the "discarded" rows: no backup, a fresh rejoin.
  void expect_discarded(const channel_handle& ch) {
    CHECK_FALSE(alive(ch));
    CHECK_FALSE(backup("probe:1", "alice"));
    CHECK(stat("exits", "discarded_normal") == 1);
    auto again = rejoin(ch);
    CHECK(restored(again) == false);
    CHECK(assigns(again).empty());
  }
};

caf::behavior frozen_channel(caf::event_based_actor* self, int) {
  // A channel on a frozen node: it never reacts to the takeover's exit.
  self->set_exit_handler([](caf::exit_msg&) {});
  return {[](int) {}};
}

} // namespace

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

// -- commits ------------------------------------------------------------------

TEST_CASE_FIXTURE(probe_case, "a throwing handler commits nothing") {
  auto ch = alice_with_x();
  push(ch, "set_then_throw", {{"key", "x"}, {"value", 2}});
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == channel_exit::crashed);
  push(ch, "set_then_throw", {{"key", "y"}, {"value", 2}}); // to a dead actor
  CHECK(backup("probe:1", "alice") == json::object{{"x", 1}});
  auto again = rejoin(ch);
  CHECK(assigns(again) == json::object{{"x", 1}});
  // The channel catches the handler's exception itself (one throw, not a
  // rethrow in the exception handler): its text is still in the exit
  // reason that the registry records (describe) and the poison guard shows.
  CHECK(describe(*exit_reason(ch)).find("probe throws after assigning")
        != std::string::npos);
}

TEST_CASE("without write-through a crash restores only what was there at "
          "join") {
  case_options opts;
  opts.write_through = false;
  probe_case t{opts};
  REQUIRE(t.put_backup("probe:1", "alice", R"({"x":5})"));
  auto ch = t.join("probe:1", "alice");
  CHECK(t.restored(ch) == true);
  t.set(ch, "x", 6);
  t.set(ch, "y", 1);
  CHECK(t.assigns(ch) == json::object{{"x", 6}, {"y", 1}});
  t.crash(ch);
  auto again = t.rejoin(ch);
  CHECK(t.restored(again) == true);
  CHECK(t.assigns(again) == json::object{{"x", 5}});
}

// -- isolation ----------------------------------------------------------------

TEST_CASE_FIXTURE(probe_case, "clients on the same topic never see each "
                              "other's state") {
  auto a = join("probe:1", "alice");
  auto b = join("probe:1", "bob");
  set(a, "who", "alice");
  set(b, "who", "bob");
  crash(a);
  CHECK(alive(b));
  CHECK(assigns(b) == json::object{{"who", "bob"}});
  CHECK_FALSE(backup("probe:1", "bob"));
  auto a2 = rejoin(a);
  CHECK(assigns(a2) == json::object{{"who", "alice"}});
  crash(b);
  auto b2 = rejoin(b);
  CHECK(assigns(b2) == json::object{{"who", "bob"}});
  CHECK(assigns(a2) == json::object{{"who", "alice"}});
}

TEST_CASE_FIXTURE(probe_case, "one client's channels on different topics "
                              "keep separate state") {
  auto one = join("probe:1", "alice");
  auto two = join("probe:2", "alice");
  set(one, "topic", 1);
  set(two, "topic", 2);
  crash(one);
  CHECK(alive(two));
  auto one2 = rejoin(one);
  CHECK(assigns(one2) == json::object{{"topic", 1}});
  leave(two);
  auto two2 = rejoin(two);
  CHECK(restored(two2) == false);
  CHECK(assigns(two2).empty());
  CHECK(assigns(one2) == json::object{{"topic", 1}});
}

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

// -- bounds -------------------------------------------------------------------

TEST_CASE("a backup expires after its TTL in virtual time") {
  case_options opts;
  opts.registry.backup_ttl = 2s;
  opts.registry.sweep_interval = 500ms;
  probe_case t{opts};
  auto ch = t.alice_with_x();
  t.crash(ch);
  t.advance(2s - 1ms);
  CHECK(t.backup("probe:1", "alice"));
  auto again = t.rejoin(ch); // restored just in time
  CHECK(t.restored(again) == true);
  t.crash(again);
  t.advance(2s);
  // Expired, even if no sweep ran since.
  auto late = t.rejoin(ch);
  CHECK(t.restored(late) == false);
  CHECK(t.assigns(late).empty());
  CHECK(t.stat("drops", "expired") == 1);
}

TEST_CASE("the sweep drops expired backups nobody asks for") {
  case_options opts;
  opts.registry.backup_ttl = 2s;
  opts.registry.sweep_interval = 500ms;
  probe_case t{opts};
  auto ch = t.alice_with_x();
  t.crash(ch);
  t.advance(2s - 1ms);
  CHECK(t.stat(nullptr, "backups") == 1);
  t.advance(1ms + 500ms);
  CHECK_FALSE(t.backup("probe:1", "alice"));
  CHECK(t.stat("drops", "expired") == 1);
  CHECK(t.stat(nullptr, "backups") == 0);
  CHECK(t.stat(nullptr, "backup_bytes") == 0);
}

TEST_CASE("the backup caps evict the oldest backups first and count them") {
  case_options opts;
  opts.registry.max_backups = 2;
  probe_case t{opts};
  std::vector<channel_handle> chs;
  for (const char* who : {"a", "b", "c"}) {
    chs.push_back(t.join("probe:1", who));
    t.set(chs.back(), "who", who);
    t.advance(1ms);
  }
  for (auto& ch : chs)
    t.crash(ch);
  CHECK_FALSE(t.backup("probe:1", "a"));
  CHECK(t.backup("probe:1", "b"));
  CHECK(t.backup("probe:1", "c"));
  CHECK(t.stat("drops", "evicted") == 1);
  CHECK(t.stat(nullptr, "backups") == 2);
  CHECK(t.restored(t.rejoin(chs[0])) == false);
  CHECK(t.restored(t.rejoin(chs[1])) == true);
}

namespace {

/// Only the last commit is kept: the poison guard quarantines at once
/// instead of falling back (poison_test covers the fallback).
case_options one_generation() {
  case_options opts;
  opts.registry.generations = 1;
  return opts;
}

} // namespace

TEST_CASE("crashes without progress in a row set the state aside and the "
          "next join says why") {
  probe_case t{one_generation()};
  auto ch = t.alice_with_x();
  t.crash(ch); // after progress (set): kept
  for (int i = 0; i < 3; ++i) {
    ch = t.rejoin(ch);
    CHECK(t.restored(ch) == true);
    t.crash(ch); // before any client event completed
  }
  CHECK_FALSE(t.backup("probe:1", "alice"));
  auto after = t.rejoin(ch);
  auto r = t.join_reply(after);
  REQUIRE(r);
  CHECK(r->response.at("restored") == false);
  REQUIRE(r->response.contains("note"));
  CHECK(r->response.at("note").as_string().find("quarantined") == 0);
  CHECK(t.assigns(after).empty());
  CHECK(t.stat("drops", "quarantined") == 1);
  CHECK(t.stat("restores", "refused_poison") == 1);
}

TEST_CASE("crashes in quick succession keep restoring while each followed "
          "progress") {
  probe_case t{one_generation()};
  auto ch = t.alice_with_x();
  for (int i = 0; i < 10; ++i) {
    t.crash(ch);
    ch = t.rejoin(ch);
    CHECK(t.restored(ch) == true);
    CHECK(t.assigns(ch) == json::object{{"x", 1}}); // a completed event
  }
  CHECK(t.stat("drops", "quarantined") == 0);
  CHECK(t.stat("quarantine", "crashes_without_progress") == 0);
}

// -- join outcomes ------------------------------------------------------------

TEST_CASE_FIXTURE(probe_case, "a refused join keeps the backup it was "
                              "offered") {
  REQUIRE(put_backup("probe:1", "alice", R"({"x":5})"));
  auto ch = join("probe:1", "alice", {{"refuse", true}});
  REQUIRE(join_reply(ch));
  CHECK(join_reply(ch)->status == "error");
  CHECK(*exit_reason(ch) == channel_exit::join_refused);
  CHECK(backup("probe:1", "alice") == json::object{{"x", 5}});
  auto again = join("probe:1", "alice");
  CHECK(assigns(again) == json::object{{"x", 5}});
}

TEST_CASE("a join that throws is answered with an error and keeps the "
          "backup") {
  probe_case t;
  REQUIRE(t.put_backup("probe:1", "alice", R"({"x":5})"));
  auto ch = t.join("probe:1", "alice", {{"throw", true}});
  REQUIRE(t.join_reply(ch));
  CHECK(t.join_reply(ch)->status == "error");
  CHECK(t.join_reply(ch)->response.at("reason") == "join crashed");
  CHECK(*t.exit_reason(ch) == channel_exit::crashed);
  CHECK(t.backup("probe:1", "alice") == json::object{{"x", 5}});
}

TEST_CASE_FIXTURE(probe_case, "pushes and broadcasts reach the right "
                              "clients") {
  auto a = join("probe:1", "alice");
  auto b = join("probe:1", "bob");
  auto other = join("probe:2", "carol");
  push(a, "ping");
  auto pongs = frames(a, frame_kind::push);
  REQUIRE(pongs.size() == 1);
  CHECK(pongs[0].event == "pong");
  CHECK(frames(b, frame_kind::push).empty());
  push(a, "shout", {{"hi", 1}});
  CHECK(frames(a, frame_kind::broadcast).size() == 1);
  CHECK(frames(b, frame_kind::broadcast).size() == 1);
  CHECK(frames(other, frame_kind::broadcast).empty());
  push(a, "whisper", {{"hi", 2}});
  CHECK(frames(a, frame_kind::broadcast).size() == 1);
  REQUIRE(frames(b, frame_kind::broadcast).size() == 2);
  CHECK(frames(b, frame_kind::broadcast)[1].event == "whisper");
}

TEST_CASE_FIXTURE(probe_case, "broadcasts reach exactly the live "
                              "subscribers after some in the middle ended") {
  std::vector<channel_handle> chs;
  for (const char* who : {"a", "b", "c", "d", "e"})
    chs.push_back(join("probe:1", who));
  auto lone = join("probe:2", "z");
  // b leaves and d crashes: the pubsub moves others into their places.
  leave(chs[1]);
  crash(chs[3]);
  kill(lone); // its topic has nobody left
  push(chs[4], "shout", {{"hi", 1}});
  for (auto i : {0, 2, 4})
    CHECK(frames(chs[static_cast<std::size_t>(i)], frame_kind::broadcast)
            .size() == 1);
  // A rejoin subscribes again, once.
  auto d = rejoin(chs[3]);
  push(chs[0], "shout", {{"hi", 2}});
  CHECK(frames(d, frame_kind::broadcast).size() == 1);
  CHECK(frames(chs[4], frame_kind::broadcast).size() == 2);
  auto z = rejoin(lone);
  push(z, "shout", {{"hi", 3}});
  CHECK(frames(z, frame_kind::broadcast).size() == 1);
  CHECK(frames(chs[0], frame_kind::broadcast).size() == 2);
  // e took b's place: it must leave from there, and nobody else with it.
  leave(chs[4]);
  push(chs[2], "shout", {{"hi", 4}});
  CHECK(frames(chs[0], frame_kind::broadcast).size() == 3);
  CHECK(frames(chs[2], frame_kind::broadcast).size() == 3);
  CHECK(frames(d, frame_kind::broadcast).size() == 2);
  CHECK(frames(chs[4], frame_kind::broadcast).size() == 2);
}

// -- bad input to the library API ---------------------------------------------

TEST_CASE_FIXTURE(probe_case, "join_channel refuses bad requests with clear "
                              "errors and spawns nothing") {
  REQUIRE(put_backup("probe:1", "alice", R"({"x":5})"));
  auto tr = transport_of("alice");
  run();
  auto running = system().registry().running();
  auto bad = [&](join_request req, channel_error code) {
    auto ch = join_channel(system(), env(), std::move(req));
    REQUIRE_FALSE(ch);
    CHECK(ch.error() == code);
    CHECK(explain(ch.error()).find(to_string(code)) == 0);
  };
  bad({"", "alice", "1", {}, tr}, channel_error::invalid_topic);
  bad({"probe:1", "", "1", {}, tr}, channel_error::invalid_client_id);
  bad({"nowhere:1", "alice", "1", {}, tr}, channel_error::unmatched_topic);
  bad({"probe:1", "alice", "1", {}, caf::actor{}},
      channel_error::no_transport);
  CHECK(system().registry().running() == running);
  CHECK_FALSE(sched.has_job());
  CHECK_FALSE(try_join("nowhere:1", "alice"));
  CHECK_THROWS_AS(join("", "alice"), std::runtime_error);
  CHECK(backup("probe:1", "alice") == json::object{{"x", 5}});
  CHECK(stat(nullptr, "live_channels") == 0);
}

TEST_CASE_FIXTURE(probe_case, "stats count every restore, exit and drop") {
  auto a = alice_with_x();  // fresh 1
  crash(a);                 // kept_after_crash 1
  auto a2 = rejoin(a);      // from_backup 1
  auto b = join("probe:1", "bob"); // fresh 2
  set(b, "y", 2);
  drop_transport(b);        // kept_after_other 1
  leave(a2);                // discarded_normal 1
  auto s = stats();
  CHECK(s.at("live_channels") == 0);
  CHECK(s.at("backups") == 1);
  CHECK(s.at("backup_bytes").to_number<std::uint64_t>()
        == table().backup_bytes());
  CHECK(table().backup_bytes() > 0);
  CHECK(s.at("restores").at("fresh") == 2);
  CHECK(s.at("restores").at("from_backup") == 1);
  CHECK(s.at("exits").at("kept_after_crash") == 1);
  CHECK(s.at("exits").at("kept_after_other") == 1);
  CHECK(s.at("exits").at("discarded_normal") == 1);
  CHECK(s.at("limits").at("down_wait_ms")
        == table().config().down_wait.count());
}
