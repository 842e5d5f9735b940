// A registry that ends answers the joins waiting on it at once, instead of
// leaving them to their restore timeout.
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include <chanstate/registry/registry_error.hpp>
#include "refusal_case.hpp"

using namespace chanstate;
using namespace chanstate::test;

TEST_CASE_FIXTURE(refusal_case, "a registry that ends while a join waits for "
                                "a takeover answers the join at once") {
  // Step 1: a frozen channel holds alice's key.
  auto frozen = frozen_holder("room:1", "alice");
  // Step 2: alice joins elsewhere; the registry waits for the frozen one.
  auto ch = join("room:1", "alice");
  CHECK_FALSE(join_reply(ch));
  // Step 3: the registry is killed. No virtual time passes: the join hears
  // it from the ending registry, not from its restore timeout.
  caf::anon_send_exit(env().registry, caf::exit_reason::kill);
  run();
  CHECK(refusal(ch).find("request_receiver_down") == 0);
  CHECK(*exit_reason(ch) == channel_exit::join_refused);
}

TEST_CASE_FIXTURE(refusal_case, "a join sent to a registry that is gone is "
                                "refused at once") {
  caf::anon_send_exit(env().registry, caf::exit_reason::kill);
  run();
  auto ch = join("room:1", "alice");
  CHECK(refusal(ch).find("request_receiver_down") == 0);
  CHECK(*exit_reason(ch) == channel_exit::join_refused);
}
