// A registry that ends answers the joins waiting on it at once, instead of
// leaving them to their restore timeout.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/registry/registry_error.hpp>

using namespace chanstate;
using namespace chanstate::testing;
namespace json = boost::json;

namespace {

caf::behavior frozen_channel(caf::event_based_actor* self, int) {
  // A channel on a frozen node: it never reacts to the takeover's exit.
  self->set_exit_handler([](caf::exit_msg&) {});
  return {[](int) {}};
}

struct ending_case : channel_case {
  ending_case() {
    REQUIRE(!route("room:*", demo_channel_factory()));
  }

  // The refused join's detail, e.g. "request_receiver_down: ...".
  std::string refusal(const channel_handle& ch) {
    auto r = join_reply(ch);
    REQUIRE(r);
    CHECK(r->status == "error");
    CHECK(r->response.at("reason") == "restore failed");
    return json::value_to<std::string>(r->response.at("detail"));
  }
};

} // namespace

TEST_CASE_FIXTURE(ending_case, "a registry that ends while a join waits for "
                               "a takeover answers the join at once") {
  // Step 1: a frozen channel holds alice's key.
  auto frozen = system().spawn(frozen_channel, 0);
  watch(frozen);
  REQUIRE(ask<restore_outcome>(env().registry, restore_atom::value,
                               backup_key{"room:1", "alice"}, frozen));
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

TEST_CASE_FIXTURE(ending_case, "a join sent to a registry that is gone is "
                               "refused at once") {
  caf::anon_send_exit(env().registry, caf::exit_reason::kill);
  run();
  auto ch = join("room:1", "alice");
  CHECK(refusal(ch).find("request_receiver_down") == 0);
  CHECK(*exit_reason(ch) == channel_exit::join_refused);
}
