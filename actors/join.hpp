// Joining a topic: spawn-on-rejoin, the one entry point transports use.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/json/object.hpp>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/router.hpp"
#include "registry/registry_actor.hpp"

namespace chanstate {

/// What every channel of a node shares.
struct channel_env {
  registry_actor registry;
  caf::actor pubsub;
  std::shared_ptr<const router> routes;
  /// How long a joining channel waits for the registry before it refuses.
  std::chrono::milliseconds restore_timeout = std::chrono::seconds{10};
  /// Off only to measure what write-through costs (chanstate-bench steady).
  bool write_through = true;
  /// True when `registry` stands for a registry on another node (a
  /// registry_link): assigns then travel as JSON and commits as deltas.
  /// A direct handle to a remote registry is detected without it.
  bool remote_registry = false;
};

/// One client's join of one topic.
struct join_request {
  std::string topic;
  std::string client_id;
  std::string join_ref;
  boost::json::object params;
  /// Receives the channel's outbound_frame messages; the channel monitors it
  /// and ends with transport_lost if it dies without closing.
  caf::actor transport;
};

/// Spawns the channel for `req`. Before it serves anything the channel asks
/// the registry for the key's backup; client events sent to it meanwhile are
/// held and handled afterwards, in order. The join reply arrives at the
/// transport as an outbound_frame (join_ok or join_error).
/// Fails with channel_error for an empty topic or client id or an unmatched
/// topic; nothing is spawned then.
caf::expected<caf::actor> join_channel(caf::actor_system& sys,
                                       const channel_env& env,
                                       join_request req);

} // namespace chanstate
