// `chanstate-node demo`: the seed scenario, narrated.
#pragma once

#include <caf/actor_system.hpp>

namespace chanstate {

/// Runs join, add 2149, add 1234, get, crash, rejoin, get; then a kill and a
/// leave. Narrates to stderr, prints one JSON summary line on stdout and
/// returns 0 only if every step behaved.
int run_demo(caf::actor_system& sys);

} // namespace chanstate
