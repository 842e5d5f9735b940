// The channel actor as a library user meets it: join outcomes, pushes and
// broadcasts, bad requests and the stats.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <caf/detail/log_level.hpp>
#include <caf/logger.hpp>

#include "probe_case.hpp"

using namespace chanstate;
using namespace chanstate::testing;
using namespace std::chrono_literals;
using chanstate::test::probe_case;
namespace json = boost::json;

// -- CAF's per-thread log bookkeeping -----------------------------------------

#if CAF_LOG_LEVEL == CAF_LOG_LEVEL_QUIET
// CAF records the running actor's id per thread around every resume (a map
// under a spinlock) whenever the thread has a current logger, even in a
// build that logs nothing; CAF's spawn makes one current again. A channel's
// spawn and start leave none behind (README, "Crash recovery").
TEST_CASE_FIXTURE(probe_case, "a channel's spawn and start leave no current "
                              "CAF logger on the thread") {
  caf::logger::set_current_actor_system(&system());
  REQUIRE(caf::logger::current_logger() != nullptr);
  auto ch = join("probe:1", "alice");
  CHECK(joined(ch));
  CHECK(caf::logger::current_logger() == nullptr);
}
#endif

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
