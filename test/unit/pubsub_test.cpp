// pubsub on its own: subscribers by message and by topic_subscription.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/pubsub.hpp>

using namespace chanstate;

namespace {

using inbox = std::shared_ptr<std::vector<std::string>>;

// Records the event of every broadcast it receives.
caf::behavior recorder(caf::event_based_actor*, inbox got) {
  return {[got](topic_broadcast& b) { got->push_back(b.event); }};
}

struct pubsub_case {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::actor pubsub;

  static caf::actor_system_config& prep(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    return c;
  }

  pubsub_case()
    : sys(prep(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
      pubsub(spawn_pubsub(sys)) {
    sched.run();
  }

  ~pubsub_case() {
    caf::anon_send_exit(pubsub, caf::exit_reason::kill);
    sched.run();
  }

  caf::actor subscriber(const inbox& got) {
    auto a = sys.spawn(recorder, got);
    sched.run();
    return a;
  }

  // `who` subscribes by message, as any actor may.
  void subscribe(const caf::actor& who, const std::string& topic) {
    caf::send_as(who, pubsub, caf::subscribe_atom::value, topic);
    sched.run();
  }

  void publish(const std::string& topic, const std::string& event,
               const caf::actor_addr& except = {}) {
    caf::anon_send(pubsub, caf::publish_atom::value,
                   topic_broadcast{topic, event, {}}, except);
    sched.run();
  }
};

} // namespace

TEST_CASE_FIXTURE(pubsub_case, "a subscriber by message gets its topic's "
                               "broadcasts until it moves or dies") {
  auto a_got = std::make_shared<std::vector<std::string>>();
  auto b_got = std::make_shared<std::vector<std::string>>();
  auto a = subscriber(a_got);
  auto b = subscriber(b_got);
  subscribe(a, "t:1");
  subscribe(b, "t:1");
  subscribe(b, "t:1"); // twice: still one delivery
  publish("t:1", "one");
  publish("t:2", "nobody");
  publish("t:1", "not-a", a.address());
  CHECK(*a_got == std::vector<std::string>{"one"});
  CHECK(*b_got == std::vector<std::string>{"one", "not-a"});
  // A second subscribe moves a to another topic.
  subscribe(a, "t:2");
  publish("t:1", "two");
  publish("t:2", "three");
  CHECK(*a_got == std::vector<std::string>{"one", "three"});
  CHECK(*b_got == std::vector<std::string>{"one", "not-a", "two"});
  // A dead subscriber is pruned; the others still receive.
  caf::anon_send_exit(b, caf::exit_reason::kill);
  sched.run();
  b = nullptr;
  publish("t:1", "four");
  publish("t:2", "five");
  CHECK(*a_got == std::vector<std::string>{"one", "three", "five"});
  CHECK(b_got->size() == 3);
  caf::anon_send_exit(a, caf::exit_reason::kill);
  sched.run();
}

TEST_CASE_FIXTURE(pubsub_case, "a topic_subscription delivers until it is "
                               "cancelled or destroyed, and only for its "
                               "own pubsub") {
  auto got = std::make_shared<std::vector<std::string>>();
  auto a = subscriber(got);
  auto other = spawn_pubsub(sys);
  sched.run();
  {
    topic_subscription sub;
    REQUIRE(sub.subscribe(pubsub, a.address(), "t:1"));
    CHECK(sub.active());
    publish("t:1", "one");
    // The same topic on another pubsub is another topic.
    caf::anon_send(other, caf::publish_atom::value,
                   topic_broadcast{"t:1", "elsewhere", {}}, caf::actor_addr{});
    sched.run();
    CHECK(*got == std::vector<std::string>{"one"});
    sub.cancel();
    CHECK(!sub.active());
    publish("t:1", "cancelled");
    CHECK(*got == std::vector<std::string>{"one"});
    REQUIRE(sub.subscribe(pubsub, a.address(), "t:2"));
    publish("t:2", "two");
    CHECK(*got == std::vector<std::string>{"one", "two"});
  }
  publish("t:2", "destroyed");
  CHECK(*got == std::vector<std::string>{"one", "two"});
  // Not a pubsub of spawn_pubsub: the caller subscribes by message.
  topic_subscription sub;
  CHECK(!sub.subscribe(a, a.address(), "t:1"));
  CHECK(!sub.active());
  caf::anon_send_exit(a, caf::exit_reason::kill);
  caf::anon_send_exit(other, caf::exit_reason::kill);
  sched.run();
}
