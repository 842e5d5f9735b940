// Registers every chanstate message type with a CAF config.
#pragma once

#include <caf/actor_system_config.hpp>

namespace chanstate {

/// Adds chanstate's message types to `cfg`. Every node of a cluster must call
/// it before building its actor_system: CAF sends a message whose type one
/// side does not know as an empty message, without an error.
void register_message_types(caf::actor_system_config& cfg);

} // namespace chanstate
