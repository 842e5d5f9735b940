// The actors that carry answers from the actor world back into Asio.
//
// A connection's bridge is the transport its channels know: channels send it
// outbound frames, it monitors them, and it hands both over to the
// connection. It holds only a weak_ptr to the connection, so neither keeps
// the other alive (no cycle, no shutdown hang).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chanstate/actors/frames.hpp>
#include <chanstate/registry/registry_actor.hpp>

namespace chanstate {

/// The connection side of a bridge. Both calls come from the thread of the
/// actor that sent the message (a CAF worker, or the connection's own
/// thread for a down of an already ended channel), possibly from several
/// at once: an implementation must only hand the work to its own executor.
class bridge_sink {
public:
  virtual ~bridge_sink() = default;

  /// A frame channel `from` sent to its transport.
  virtual void deliver(caf::actor_addr from, outbound_frame f) = 0;

  /// A monitored channel went down.
  virtual void channel_down(caf::actor_addr channel, caf::error reason) = 0;
};

/// Spawns a bridge: not a scheduled actor, it handles each message on the
/// sender's thread as the message is sent. Messages it takes:
/// - outbound_frame (from channels): passed to sink.deliver;
/// - (monitor_atom, actor): monitors a channel; its down goes to
///   sink.channel_down;
/// - (close_atom, error): the connection is over; the bridge quits with that
///   reason, which the channels it served see in their down message.
caf::actor spawn_bridge(caf::actor_system& sys,
                        std::weak_ptr<bridge_sink> sink);

/// Asks the registry for its stats without blocking the caller: `done` runs
/// on a CAF worker thread with the JSON text or the error. Returns the actor
/// that asks (it ends after calling `done`).
caf::actor fetch_registry_stats(
  caf::actor_system& sys, const registry_actor& registry,
  std::chrono::milliseconds timeout,
  std::function<void(caf::expected<std::string>)> done);

} // namespace chanstate
