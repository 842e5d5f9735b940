// `chanstate-node` with no subcommand: serve the Phoenix endpoint.
#pragma once

#include <caf/actor_system.hpp>

#include "app/node_config.hpp"

namespace chanstate {

/// Starts the registry, pubsub and the endpoint; prints one line with the
/// URL to stdout; serves until SIGINT or SIGTERM; shuts down cleanly.
/// Returns the process exit code.
int run_node(caf::actor_system& sys, const node_config& cfg);

} // namespace chanstate
