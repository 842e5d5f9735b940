// Validation in front of spawn-on-rejoin.
#include <chanstate/actors/join.hpp>

#include <chanstate/actors/channel_actor.hpp>
#include <chanstate/actors/channel_error.hpp>

namespace chanstate {

caf::expected<caf::actor> join_channel(caf::actor_system& sys,
                                       const channel_env& env,
                                       join_request req) {
  if (req.topic.empty())
    return caf::make_error(channel_error::invalid_topic,
                           "topic must not be empty");
  if (req.client_id.empty())
    return caf::make_error(channel_error::invalid_client_id,
                           "client id must not be empty");
  if (!req.transport)
    return caf::make_error(channel_error::no_transport,
                           "a join needs a transport to reply to");
  if (!env.registry)
    return caf::make_error(channel_error::no_registry,
                           "a channel_env needs a registry");
  const channel_factory* factory = env.routes ? env.routes->match(req.topic)
                                              : nullptr;
  if (!factory)
    return caf::make_error(channel_error::unmatched_topic,
                           "no route for topic " + req.topic);
  return spawn_channel(sys, env, std::move(req), *factory);
}

} // namespace chanstate
