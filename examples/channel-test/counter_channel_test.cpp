// Tests of counter-service's channel with chanstate::testing::channel_case:
// deterministic (CAF's test scheduler, virtual time), no sockets, no sleeps.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chanstate/testing.hpp>

#include "counter_channel.hpp"

using chanstate::testing::channel_case;

namespace {

std::int64_t count_of(const std::optional<chanstate::reply>& r) {
  REQUIRE(r);
  REQUIRE(r->status == "ok");
  return r->response.at("count").as_int64();
}

} // namespace

TEST_CASE("a crashed counter resumes from its last count") {
  channel_case t;
  t.route("counter:*", example::make_counter);
  auto ch = t.join("counter:clicks", "ada");
  CHECK(t.join_reply(ch)->response.at("restored") == false);
  CHECK(count_of(t.call(ch, "inc", {{"by", 41}})) == 41);
  CHECK(count_of(t.call(ch, "inc")) == 42);
  t.crash(ch); // the channel's handler throws
  CHECK_FALSE(t.alive(ch));
  CHECK(*t.exit_reason(ch) == chanstate::channel_exit::crashed);
  auto again = t.rejoin(ch);
  CHECK(t.join_reply(again)->response.at("restored") == true);
  CHECK(count_of(t.call(again, "get")) == 42);
}

TEST_CASE("a killed counter keeps every completed increment") {
  channel_case t;
  t.route("counter:*", example::make_counter);
  auto ch = t.join("counter:clicks", "ada");
  t.call(ch, "inc", {{"by", 7}});
  t.kill(ch); // exit_reason::kill: no channel code runs
  auto again = t.rejoin(ch);
  CHECK(count_of(t.call(again, "get")) == 7);
}

TEST_CASE("a counter that throws in its own handler keeps the count before") {
  channel_case t;
  t.route("counter:*", example::make_counter);
  auto ch = t.join("counter:clicks", "ada");
  t.call(ch, "inc", {{"by", 3}});
  t.call(ch, "crash"); // the channel's own throw, not the injected one
  CHECK_FALSE(t.alive(ch));
  auto again = t.rejoin(ch);
  CHECK(count_of(t.call(again, "get")) == 3);
}

TEST_CASE("leaving drops the count: the next join starts at zero") {
  channel_case t;
  t.route("counter:*", example::make_counter);
  auto ch = t.join("counter:clicks", "ada");
  t.call(ch, "inc", {{"by", 5}});
  t.leave(ch);
  CHECK_FALSE(t.alive(ch));
  CHECK(!t.backup("counter:clicks", "ada"));
  auto again = t.rejoin(ch);
  CHECK(t.join_reply(again)->response.at("restored") == false);
  CHECK(count_of(t.call(again, "get")) == 0);
}

TEST_CASE("each client has its own count") {
  channel_case t;
  t.route("counter:*", example::make_counter);
  auto ada = t.join("counter:clicks", "ada");
  auto bob = t.join("counter:clicks", "bob");
  t.call(ada, "inc", {{"by", 2}});
  t.crash(ada);
  t.crash(bob);
  CHECK(count_of(t.call(t.rejoin(ada), "get")) == 2);
  CHECK(count_of(t.call(t.rejoin(bob), "get")) == 0);
}

TEST_CASE("a bad increment gets an error reply and changes nothing") {
  channel_case t;
  t.route("counter:*", example::make_counter);
  auto ch = t.join("counter:clicks", "ada");
  auto r = t.call(ch, "inc", {{"by", "ten"}});
  REQUIRE(r);
  CHECK(r->status == "error");
  CHECK(count_of(t.call(ch, "get")) == 0);
}
