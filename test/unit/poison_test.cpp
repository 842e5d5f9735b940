// The poison guard judges progress, never acknowledged data: only a
// restored state that keeps crashing its channel before serving an event is
// set aside.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "probe_case.hpp"

using namespace chanstate;
using namespace std::chrono_literals;
using chanstate::testing::case_options;
using chanstate::testing::channel_handle;
namespace json = boost::json;

namespace {

/// The probe bench, read through the demo channel's `ns` list.
struct demo_case : test::probe_case {
  using probe_case::probe_case;

  json::object joined_with(const channel_handle& ch) {
    auto r = join_reply(ch);
    REQUIRE(r);
    REQUIRE(r->status == "ok");
    return r->response;
  }

  json::value ns(const channel_handle& ch) {
    auto r = call(ch, "get");
    REQUIRE(r);
    REQUIRE(r->status == "ok");
    return r->response.at("ns");
  }

  /// alice on room:1 with ns = [1, 2], committed in two generations, after a
  /// crash that came after progress (the newest commit is the backup).
  channel_handle alice_after_first_crash() {
    auto ch = join("room:1", "alice");
    push(ch, "add", {{"n", 1}});
    push(ch, "add", {{"n", 2}});
    push(ch, "oopsy");
    return ch;
  }

  /// Rejoins and crashes on the first event: a crash without progress.
  channel_handle crash_without_progress(const channel_handle& ch) {
    auto again = rejoin(ch);
    REQUIRE(joined(again));
    push(again, "oopsy");
    return again;
  }
};

} // namespace

TEST_CASE_FIXTURE(demo_case, "a crash after progress keeps the newest "
                             "commit, however often it happens") {
  auto ch = join("room:1", "alice");
  json::array want;
  // Ten crash cycles in a row, no time passing: add, get, crash, rejoin.
  for (int i = 1; i <= 10; ++i) {
    push(ch, "add", {{"n", i}});
    want.push_back(i);
    CHECK(ns(ch) == want);
    push(ch, "oopsy");
    ch = rejoin(ch);
    auto r = joined_with(ch);
    CHECK(r["restored"] == true);
    CHECK(r["ns"] == want);
    CHECK_FALSE(r.contains("fallback_generation"));
    CHECK_FALSE(r.contains("quarantined"));
  }
  CHECK(stat("quarantine", "crashes_without_progress") == 0);
  CHECK(stat("quarantine", "count") == 0);
  CHECK(stat("restores", "fallback") == 0);
}

TEST_CASE_FIXTURE(demo_case, "a get before each crash is progress: the "
                             "state is kept") {
  auto ch = alice_after_first_crash();
  for (int i = 0; i < 10; ++i) {
    ch = rejoin(ch);
    CHECK(ns(ch) == json::array{1, 2});
    push(ch, "oopsy");
  }
  ch = rejoin(ch);
  CHECK(joined_with(ch)["ns"] == json::array{1, 2});
  CHECK_FALSE(joined_with(ch).contains("fallback_generation"));
  CHECK(stat("quarantine", "crashes_without_progress") == 0);
}

TEST_CASE_FIXTURE(demo_case, "poison_crashes crashes without progress fall "
                             "back a generation, then to quarantine") {
  auto ch = alice_after_first_crash();
  // Crashes 1 and 2 without progress: the newest commit is still restored.
  for (int i = 1; i <= 2; ++i) {
    ch = crash_without_progress(ch);
    CHECK(joined_with(ch)["ns"] == json::array{1, 2});
    CHECK_FALSE(joined_with(ch).contains("fallback_generation"));
    CHECK(stat("quarantine", "crashes_without_progress") == i);
  }
  // Crash 3 (poison_crashes): the next join skips that generation and says
  // so.
  ch = crash_without_progress(ch);
  ch = rejoin(ch);
  auto r = joined_with(ch);
  CHECK(r["restored"] == true);
  CHECK(r["fallback_generation"] == 1);
  CHECK(r["ns"] == json::array{1});
  CHECK(stat("quarantine", "fallbacks") == 1);
  CHECK(stat("restores", "fallback") == 1);
  // The older generation gets poison_crashes tries of its own.
  push(ch, "oopsy");
  for (int i = 0; i < 2; ++i) {
    ch = crash_without_progress(ch);
    CHECK(joined_with(ch)["ns"] == json::array{1});
  }
  // Nothing older is left: a fresh start that says why.
  ch = rejoin(ch);
  r = joined_with(ch);
  CHECK(r["restored"] == false);
  CHECK(r["ns"] == json::array{});
  REQUIRE(r.contains("quarantined"));
  auto why = std::string{r["quarantined"].as_string()};
  CHECK(why.find("'oopsy'") != std::string::npos);
  CHECK(why.find("3 times in a row") != std::string::npos);
  // Every step is counted, and the records can be inspected.
  auto q = stats()["quarantine"].as_object();
  CHECK(q["count"] == 2);
  CHECK(q["crashes_without_progress"] == 6);
  CHECK(q["fallbacks"] == 1);
  CHECK(q["quarantined"] == 1);
  auto last = q["recent"].as_array().back().as_object();
  CHECK(last["key"] == "room:1|alice");
  CHECK(last["last_event"] == "oopsy");
  CHECK(last["crashes"] == 3);
  CHECK(last["exhausted"] == true);
  CHECK(stat("restores", "refused_poison") == 1);
  CHECK(stat("drops", "quarantined") == 1);
}

TEST_CASE_FIXTURE(demo_case, "progress resets the count") {
  auto ch = alice_after_first_crash();
  ch = crash_without_progress(ch);
  ch = crash_without_progress(ch);
  // One completed event: the state has shown it can serve.
  ch = rejoin(ch);
  CHECK(ns(ch) == json::array{1, 2});
  push(ch, "oopsy");
  // Two more crashes without progress are again below poison_crashes.
  ch = crash_without_progress(ch);
  ch = crash_without_progress(ch);
  ch = rejoin(ch);
  CHECK(joined_with(ch)["ns"] == json::array{1, 2});
  CHECK_FALSE(joined_with(ch).contains("fallback_generation"));
  CHECK(stat("quarantine", "crashes_without_progress") == 4);
  // The third in a row falls back.
  push(ch, "oopsy");
  ch = rejoin(ch);
  CHECK(joined_with(ch)["fallback_generation"] == 1);
}

TEST_CASE_FIXTURE(demo_case, "kills and lost transports neither count nor "
                             "reset the count") {
  auto ch = alice_after_first_crash();
  ch = crash_without_progress(ch);
  ch = crash_without_progress(ch);
  for (int i = 0; i < 5; ++i) {
    ch = rejoin(ch);
    kill(ch);
    ch = rejoin(ch);
    drop_transport(ch);
  }
  ch = rejoin(ch);
  CHECK(joined_with(ch)["ns"] == json::array{1, 2});
  CHECK_FALSE(joined_with(ch).contains("fallback_generation"));
  CHECK(stat("quarantine", "crashes_without_progress") == 2);
  push(ch, "oopsy"); // the third crash without progress in a row
  ch = rejoin(ch);
  CHECK(joined_with(ch)["fallback_generation"] == 1);
}

TEST_CASE_FIXTURE(demo_case, "a crash in handle_info before any event counts "
                             "as a crash without progress") {
  auto ch = alice_after_first_crash();
  for (int i = 0; i < 3; ++i) {
    ch = rejoin(ch);
    crash(ch); // handle_info throws; no client event completed
  }
  ch = rejoin(ch);
  CHECK(joined_with(ch)["fallback_generation"] == 1);
  CHECK(joined_with(ch)["ns"] == json::array{1});
}

TEST_CASE("a state that makes join throw is quarantined after "
          "poison_crashes tries") {
  case_options opts;
  opts.registry.generations = 1; // only the last commit: nothing to fall to
  demo_case t{opts};
  auto ch = t.join("probe:1", "alice");
  t.push(ch, "set", {{"key", "join_throws"}, {"value", true}});
  t.crash(ch);         // after progress: the newest commit is kept
  for (int i = 1; i <= 3; ++i) {
    auto again = t.rejoin(ch);
    auto r = t.join_reply(again);
    REQUIRE(r);
    CHECK(r->status == "error");
    CHECK(r->response.at("reason") == "join crashed");
    CHECK(t.stat("quarantine", "crashes_without_progress") == i);
  }
  auto fresh = t.rejoin(ch);
  auto r = t.join_reply(fresh);
  REQUIRE(r);
  REQUIRE(r->status == "ok");
  CHECK(r->response.at("restored") == false);
  CHECK(r->response.at("assigns") == json::object{});
  REQUIRE(r->response.contains("note"));
  auto why = std::string{r->response.at("note").as_string()};
  CHECK(why.find("quarantined") == 0);
  CHECK(why.find("before any client event reached it") != std::string::npos);
  CHECK(t.stat("quarantine", "quarantined") == 1);
  CHECK(t.stat("restores", "refused_poison") == 1);
}

TEST_CASE_FIXTURE(demo_case, "a state that makes join throw falls back to "
                             "the generation before it") {
  auto ch = join("probe:1", "alice");
  push(ch, "set", {{"key", "x"}, {"value", 1}});
  push(ch, "set", {{"key", "join_throws"}, {"value", true}});
  crash(ch);
  for (int i = 0; i < 3; ++i)
    CHECK(join_reply(rejoin(ch))->status == "error");
  auto again = rejoin(ch);
  auto r = join_reply(again);
  REQUIRE(r);
  REQUIRE(r->status == "ok");
  CHECK(r->response.at("restored") == true);
  CHECK(r->response.at("assigns") == json::object{{"x", 1}});
  CHECK(stat("restores", "fallback") == 1);
}

TEST_CASE_FIXTURE(demo_case, "a kill right after a restore blames nothing") {
  auto ch = rejoin(alice_after_first_crash());
  kill(ch);
  ch = rejoin(ch);
  CHECK(joined_with(ch)["ns"] == json::array{1, 2});
  CHECK(stats()["quarantine"].as_object()["count"] == 0);
}

TEST_CASE("poison_crashes = 0 turns the guard off") {
  case_options opts;
  opts.registry.poison_crashes = 0;
  demo_case t{opts};
  auto ch = t.alice_after_first_crash();
  for (int i = 0; i < 6; ++i)
    ch = t.crash_without_progress(ch);
  ch = t.rejoin(ch);
  CHECK(t.joined_with(ch)["ns"] == json::array{1, 2});
  CHECK(t.stat("quarantine", "count") == 0);
}
