// A local join's restore timeout travels with its request: no timer on
// CAF's clock per join, and the registry refuses a join it gets to too late.
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <chanstate/registry/registry_error.hpp>
#include "refusal_case.hpp"

using namespace chanstate;
using namespace chanstate::test;
using namespace chanstate::testing;
using namespace std::chrono_literals;

namespace {

case_options one_second() {
  case_options opts;
  opts.restore_timeout = 1s;
  opts.autorun = false;
  return opts;
}

struct deadline_case : refusal_case {
  deadline_case() : refusal_case(one_second()) {
  }
};

} // namespace

TEST_CASE_FIXTURE(deadline_case, "a join sets no timer of its own") {
  auto ch = join("room:1", "alice");
  CHECK(run_one(ch)); // the restore request goes out
  CHECK_FALSE(sched.has_pending_timeout());
  run();
  CHECK(joined(ch));
  CHECK_FALSE(sched.has_pending_timeout());
}

TEST_CASE_FIXTURE(deadline_case, "a join the registry gets to after its "
                                 "restore timeout is refused") {
  // Step 1: alice joins; her restore request waits in the registry's mailbox.
  auto ch = join("room:1", "alice");
  auto ref = send_call(ch, "get");
  CHECK(run_one(ch));
  // Step 2: the registry is busy for the whole restore timeout.
  sched.advance_time(1s);
  // Step 3: it gets to the request: refused, as a timer would have done.
  run();
  CHECK(refusal(ch).find("request_timeout") == 0);
  CHECK(*exit_reason(ch) == channel_exit::join_refused);
  CHECK_FALSE(reply_to(ch, ref)); // the held event was never served
  CHECK(stats().at("live_channels") == 0);
}

TEST_CASE_FIXTURE(deadline_case, "a join the registry gets to just before its "
                                 "restore timeout is served") {
  auto ch = join("room:1", "alice");
  CHECK(run_one(ch));
  sched.advance_time(1s - 1ms);
  run();
  CHECK(joined(ch));
  CHECK(stats().at("live_channels") == 1);
}

TEST_CASE_FIXTURE(deadline_case, "a join that waits for a takeover is refused "
                                 "at its restore timeout if down_wait is "
                                 "longer") {
  // Step 1: a frozen channel holds alice's key (down_wait 5 s > 1 s).
  REQUIRE(table().config().down_wait > 1s);
  auto frozen = frozen_holder("room:1", "alice");
  // Step 2: alice joins elsewhere; the registry waits for the frozen one.
  auto ch = join("room:1", "alice");
  run();
  CHECK_FALSE(join_reply(ch));
  advance(1s - 1ms);
  CHECK_FALSE(join_reply(ch));
  // Step 3: her restore timeout passes first: refused, and the frozen
  // channel keeps the key (its commit is not taken over for nobody).
  advance(1ms);
  CHECK(refusal(ch).find("request_timeout") == 0);
  CHECK(*exit_reason(ch) == channel_exit::join_refused);
  CHECK(*table().live_channel({"room:1", "alice"}) == frozen.address());
  CHECK(stats().at("down_wait_timeouts") == 0);
}
