// An actor system on CAF's deterministic test coordinator, for the app
// tests that drive actors step by step.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace chanstate::test {

/// A fixture base: `sys` runs nothing until a test calls `sched.run()`.
struct deterministic_system {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;

  deterministic_system()
    : sys(testing_policy(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
  }

private:
  // The policy must be set before the system reads its config.
  static caf::actor_system_config& testing_policy(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    return c;
  }
};

} // namespace chanstate::test
