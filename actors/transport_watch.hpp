// One watch per transport, shared by all of its channels.
//
// CAF 0.17 keeps a monitor on the monitored actor, in a list that demonitor
// walks: n channels monitoring one transport make each demonitor O(n), and
// ending n channels O(n²). Instead every transport carries exactly one
// attached functor, and its channels sit in a hash set here: joining and
// ending are O(1), and when the transport ends each channel still alive gets
// the same down_msg a monitor would have delivered.
#pragma once

#include <cstddef>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>

namespace chanstate {

/// Delivers a down_msg from `transport` to `channel` when the transport ends
/// (at once if it already has), like `channel->monitor(transport)`. A
/// transport on another node is monitored as before (a local functor would
/// only see the connection drop). Call unwatch_transport when the channel
/// ends.
void watch_transport(caf::local_actor* channel, const caf::actor& transport);

/// Forgets `channel`: no reference to it is left with the transport.
void unwatch_transport(caf::local_actor* channel, const caf::actor& transport);

/// How many channels are watched on `transport` (for tests).
std::size_t watched_channels(const caf::actor_addr& transport);

} // namespace chanstate
