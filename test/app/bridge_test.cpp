// The bridge: a connection's transport actor that hands channel frames and
// downs to the connection on the sender's thread, without a mailbox.
#include <chanstate/endpoint/bridge.hpp>

#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "deterministic_system.hpp"

using namespace chanstate;

namespace {

struct recording_sink : bridge_sink {
  std::vector<std::string> seen; // "frame <event>" or "down"
  std::vector<caf::actor_addr> from;
  caf::error last_reason;

  void deliver(caf::actor_addr sender, outbound_frame f) override {
    seen.push_back("frame " + f.event);
    from.push_back(std::move(sender));
  }

  void channel_down(caf::actor_addr channel, caf::error reason) override {
    seen.push_back("down");
    from.push_back(std::move(channel));
    last_reason = std::move(reason);
  }
};

struct bridge_fixture : test::deterministic_system {
  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();

  ~bridge_fixture() {
    sched.run();
  }
};

// A stand-in channel: sends one frame to the transport when told, then
// ends when told.
caf::behavior fake_channel(caf::event_based_actor* self, caf::actor bridge) {
  return {
    [=](const std::string& event) {
      outbound_frame f;
      f.event = event;
      self->send(bridge, std::move(f));
    },
    [=](caf::close_atom) { self->quit(caf::sec::runtime_error); },
  };
}

} // namespace

TEST_CASE_FIXTURE(bridge_fixture,
                  "frames reach the sink as they are sent, in order") {
  auto b = spawn_bridge(sys, sink);
  auto ch = sys.spawn(fake_channel, b);
  sched.run();
  caf::anon_send(ch, std::string{"a"});
  caf::anon_send(ch, std::string{"b"});
  // One activation per message of the channel and none of the bridge: it
  // has no mailbox to be scheduled for.
  CHECK(sched.run() == 2);
  REQUIRE(sink->seen == std::vector<std::string>{"frame a", "frame b"});
  CHECK(sink->from[0] == ch.address());
  caf::anon_send(b, caf::close_atom::value, caf::error{});
  caf::anon_send_exit(ch, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(bridge_fixture, "a monitored channel's down follows its "
                                  "last frame") {
  auto b = spawn_bridge(sys, sink);
  auto ch = sys.spawn(fake_channel, b);
  sched.run();
  caf::anon_send(b, caf::monitor_atom::value, ch);
  caf::anon_send(ch, std::string{"last"});
  caf::anon_send(ch, caf::close_atom::value);
  sched.run();
  REQUIRE(sink->seen == std::vector<std::string>{"frame last", "down"});
  CHECK(sink->from[1] == ch.address());
  CHECK(sink->last_reason == caf::sec::runtime_error);
  caf::anon_send(b, caf::close_atom::value, caf::error{});
}

TEST_CASE_FIXTURE(bridge_fixture, "monitoring a channel that already ended "
                                  "reports its down at once") {
  auto b = spawn_bridge(sys, sink);
  auto ch = sys.spawn(fake_channel, b);
  sched.run();
  caf::anon_send(ch, caf::close_atom::value);
  sched.run();
  caf::anon_send(b, caf::monitor_atom::value, ch);
  REQUIRE(sink->seen == std::vector<std::string>{"down"});
  caf::anon_send(b, caf::close_atom::value, caf::error{});
}

TEST_CASE_FIXTURE(bridge_fixture, "close ends the bridge with its reason; "
                                  "later frames reach nobody") {
  auto b = spawn_bridge(sys, sink);
  auto ch = sys.spawn(fake_channel, b);
  sched.run();
  caf::error seen_by_watcher;
  bool ended = false;
  b->attach_functor([&](const caf::error& reason) {
    ended = true;
    seen_by_watcher = reason;
  });
  auto lost = caf::make_error(caf::sec::runtime_error, "lost");
  caf::anon_send(b, caf::close_atom::value, lost);
  CHECK(ended);
  CHECK(seen_by_watcher == lost);
  caf::anon_send(ch, std::string{"late"});
  sched.run();
  CHECK(sink->seen.empty());
  caf::anon_send(ch, caf::close_atom::value);
}
