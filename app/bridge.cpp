// Bridge and stats fetcher: small event-based actors, no Asio in here.
#include <chanstate/endpoint/bridge.hpp>

#include <caf/all.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

namespace {

caf::behavior bridge_impl(caf::event_based_actor* self,
                          std::weak_ptr<bridge_sink> sink) {
  self->set_down_handler([self, sink](caf::down_msg& dm) {
    if (auto s = sink.lock())
      s->channel_down(dm.source, std::move(dm.reason));
  });
  return {
    [self, sink](outbound_frame& f) {
      // The sender is always a channel: only channels know this actor.
      if (auto s = sink.lock())
        s->deliver(caf::actor_cast<caf::actor_addr>(self->current_sender()),
                   std::move(f));
    },
    [self](caf::monitor_atom, const caf::actor& channel) {
      self->monitor(channel);
    },
    [self](caf::close_atom, caf::error& reason) {
      self->quit(std::move(reason));
    },
  };
}

using stats_callback = std::function<void(caf::expected<std::string>)>;

caf::behavior stats_fetch_impl(caf::event_based_actor* self,
                               registry_actor registry,
                               std::chrono::milliseconds timeout,
                               stats_callback done) {
  self->request(registry, timeout, stats_atom::value)
    .then(
      [self, done](std::string& json) {
        done(std::move(json));
        self->quit();
      },
      [self, done](caf::error& err) {
        done(std::move(err));
        self->quit();
      });
  return {};
}

} // namespace

caf::actor spawn_bridge(caf::actor_system& sys,
                        std::weak_ptr<bridge_sink> sink) {
  return sys.spawn(bridge_impl, std::move(sink));
}

caf::actor fetch_registry_stats(caf::actor_system& sys,
                                const registry_actor& registry,
                                std::chrono::milliseconds timeout,
                                stats_callback done) {
  return sys.spawn(stats_fetch_impl, registry, timeout, std::move(done));
}

} // namespace chanstate
