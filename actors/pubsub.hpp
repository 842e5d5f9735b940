// Per-topic broadcast between channels (Phoenix.PubSub, local).
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

namespace chanstate {

/// Messages:
/// - (subscribe_atom, topic): the sender receives every topic_broadcast of
///   that topic until it dies (the pubsub monitors and prunes it).
/// - (publish_atom, topic_broadcast, actor_addr except): delivers the
///   broadcast to every subscriber of its topic but `except` (may be empty).
caf::actor spawn_pubsub(caf::actor_system& sys);

} // namespace chanstate
