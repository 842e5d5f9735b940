// A state that crashes its channel right after a restore is not restored again.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "actors/demo_channel.hpp"
#include "actors/testing/channel_case.hpp"

using namespace chanstate;
using namespace std::chrono_literals;
using chanstate::testing::channel_case;
using chanstate::testing::channel_handle;
namespace json = boost::json;

namespace {

struct demo_case : channel_case {
  demo_case() {
    REQUIRE(!route("room:*", demo_channel_factory()));
  }

  json::object joined_with(const channel_handle& ch) {
    auto r = join_reply(ch);
    REQUIRE(r);
    REQUIRE(r->status == "ok");
    return r->response;
  }

  /// alice on room:1 with ns = [1, 2], committed in two generations, after a
  /// crash of a fresh channel (which blames nothing: nothing was restored).
  channel_handle alice_after_first_crash() {
    auto ch = join("room:1", "alice");
    push(ch, "add", {{"n", 1}});
    push(ch, "add", {{"n", 2}});
    push(ch, "oopsy");
    return ch;
  }
};

} // namespace

TEST_CASE_FIXTURE(demo_case, "a state that crashes its channel right after a "
                             "restore falls back a generation, then to empty") {
  auto ch = alice_after_first_crash();
  // Step 1: restored from the last commit; it crashes on its first event.
  ch = rejoin(ch);
  CHECK(joined_with(ch)["ns"] == json::array{1, 2});
  push(ch, "oopsy");
  // Step 2: the next join skips that generation.
  ch = rejoin(ch);
  auto r = joined_with(ch);
  CHECK(r["restored"] == true);
  CHECK(r["fallback_generation"] == 1);
  CHECK(r["ns"] == json::array{1});
  push(ch, "oopsy");
  // Step 3: nothing older is left: a fresh start that says why.
  ch = rejoin(ch);
  r = joined_with(ch);
  CHECK(r["restored"] == false);
  CHECK(r["ns"] == json::array{});
  REQUIRE(r.contains("quarantined"));
  CHECK(r["quarantined"].as_string().find("'oopsy'") != json::string::npos);
  // Quarantined states can be inspected.
  auto q = stats()["quarantine"].as_object();
  CHECK(q["count"] == 2);
  auto last = q["recent"].as_array().back().as_object();
  CHECK(last["key"] == "room:1|alice");
  CHECK(last["last_event"] == "oopsy");
  CHECK(last["exhausted"] == true);
  CHECK(stats()["restores"].as_object()["refused_poison"] == 1);
}

TEST_CASE_FIXTURE(demo_case, "a crash after probation blames nothing") {
  auto ch = rejoin(alice_after_first_crash());
  // Probation ends after probation_events (3) events.
  for (int i = 0; i < 4; ++i)
    CHECK(call(ch, "get"));
  push(ch, "oopsy");
  ch = rejoin(ch);
  CHECK(joined_with(ch)["ns"] == json::array{1, 2});
  CHECK_FALSE(joined_with(ch).contains("fallback_generation"));
}

TEST_CASE_FIXTURE(demo_case, "probation also ends with time") {
  auto ch = rejoin(alice_after_first_crash());
  advance(3s); // probation_time is 2 s
  push(ch, "oopsy");
  ch = rejoin(ch);
  CHECK(joined_with(ch)["ns"] == json::array{1, 2});
}

TEST_CASE_FIXTURE(demo_case, "a kill right after a restore blames nothing") {
  auto ch = rejoin(alice_after_first_crash());
  kill(ch);
  ch = rejoin(ch);
  CHECK(joined_with(ch)["ns"] == json::array{1, 2});
  CHECK(stats()["quarantine"].as_object()["count"] == 0);
}
