// A channel as a channel_case test sees it: the actor and how it was joined.
#pragma once

#include <string>

#include <boost/json.hpp>
#include <caf/all.hpp>

namespace chanstate::testing {

/// A channel as the test sees it: the actor and how it was joined.
struct channel_handle {
  caf::actor actor;
  std::string topic;
  std::string client_id;
  std::string join_ref;
  boost::json::object params;
  caf::actor transport;

  /// The channel actor's id (invalid_actor_id if the join spawned nothing).
  caf::actor_id id() const noexcept {
    return actor ? actor.id() : caf::invalid_actor_id;
  }
};

} // namespace chanstate::testing
