// The pubsub: channels subscribe without a message and leave from their own
// cleanup; other actors subscribe by message and are pruned by a monitor.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/actors/testing/channel_case.hpp>
#include "probe_channel.hpp"

using namespace chanstate;
using namespace chanstate::testing;
namespace json = boost::json;

namespace {

using heard = std::shared_ptr<std::vector<std::string>>;

// Not a channel: subscribes by message and records what it hears.
caf::behavior listener(caf::event_based_actor* self, caf::actor pubsub,
                       heard log) {
  self->send(pubsub, caf::subscribe_atom::value, std::string{"probe:1"});
  return {
    [log](topic_broadcast& b) { log->push_back(b.event); },
    [self](caf::leave_atom) { self->quit(); },
  };
}

struct pubsub_case : channel_case {
  pubsub_case() {
    REQUIRE(!route("probe:*", chanstate::test::probe_channel_factory()));
  }
};

} // namespace

TEST_CASE_FIXTURE(pubsub_case, "an actor that subscribes by message hears "
                               "broadcasts until it ends") {
  auto log = std::make_shared<std::vector<std::string>>();
  auto l = system().spawn(listener, env().pubsub, log);
  watch(l);
  run();
  auto a = join("probe:1", "alice");
  push(a, "shout", {{"hi", 1}});
  REQUIRE(log->size() == 1);
  CHECK(log->front() == "shout");
  // It ends: its monitor prunes it, and broadcasts still reach the channel.
  caf::anon_send(l, caf::leave_atom::value);
  run();
  push(a, "shout", {{"hi", 2}});
  CHECK(log->size() == 1);
  CHECK(frames(a, frame_kind::broadcast).size() == 2);
}

TEST_CASE_FIXTURE(pubsub_case, "subscribe_channel refuses an actor that is "
                               "not a pubsub") {
  auto a = join("probe:1", "alice");
  CHECK_FALSE(subscribe_channel(a.actor, "probe:1", a.actor));
  CHECK_FALSE(subscribe_channel(env().pubsub, "probe:1", caf::actor{}));
  unsubscribe_channel(a.actor, a.actor.address()); // a no-op, no crash
}
