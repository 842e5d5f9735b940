// A channel as a channel_case test sees it: the actor and how it was joined.
#pragma once

#include <string>

#include <boost/json.hpp>
#include <caf/all.hpp>

namespace chanstate::testing {

/// A channel as the test sees it: the actor and how it was joined.
struct channel_handle {
  /// The channel actor (null if the join spawned nothing).
  caf::actor actor;
  /// The topic joined.
  std::string topic;
  /// The client id of the backup key.
  std::string client_id;
  /// The join's ref; the channel's frames carry it.
  std::string join_ref;
  /// The join params; rejoin() sends them again.
  boost::json::object params;
  /// The client's recording transport, shared by all channels of the
  /// client (drop_transport() ends it).
  caf::actor transport;

  /// The channel actor's id (invalid_actor_id if the join spawned nothing).
  caf::actor_id id() const noexcept {
    return actor ? actor.id() : caf::invalid_actor_id;
  }
};

} // namespace chanstate::testing
