// Per-topic broadcast between channels (Phoenix.PubSub, local).
#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

namespace chanstate {

/// Messages:
/// - (subscribe_atom, topic): the sender receives every topic_broadcast of
///   that topic until it dies (the pubsub monitors and prunes it).
/// - (publish_atom, topic_broadcast, actor_addr except): delivers the
///   broadcast to every subscriber of its topic but `except` (may be empty).
caf::actor spawn_pubsub(caf::actor_system& sys);

/// Subscribes `channel` to `topic` at once, without a message or a monitor:
/// the channel calls unsubscribe_channel when it ends (its cleanup), so the
/// pubsub never watches it (README, "Crash recovery"). One topic per
/// subscriber: a second call moves it. False if `pubsub` is not a local
/// pubsub (then send it subscribe_atom instead).
bool subscribe_channel(const caf::actor& pubsub, const std::string& topic,
                       const caf::actor& channel);

/// Forgets `channel` (subscribed with subscribe_channel); safe to call from
/// any thread, and after the pubsub ended.
void unsubscribe_channel(const caf::actor& pubsub,
                         const caf::actor_addr& channel);

} // namespace chanstate
