// The channel actor's commits: what a crash keeps, and that each client's
// channel on each topic keeps its own state.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "probe_case.hpp"

using namespace chanstate;
using namespace chanstate::testing;
using namespace std::chrono_literals;
using chanstate::test::probe_case;
namespace json = boost::json;

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
