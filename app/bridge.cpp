// Bridge and stats fetcher: small event-based actors, no Asio in here.
#include <chanstate/endpoint/bridge.hpp>

#include <mutex>
#include <shared_mutex>

#include <caf/all.hpp>
#include <caf/default_attachable.hpp>
#include <caf/monitorable_actor.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

namespace {

// Not a scheduled actor: every message is handled in enqueue, on the
// sender's thread. A frame a channel sends goes straight into the
// connection's inbox, with no mailbox, no activation of a bridge on a CAF
// worker and no second hop per frame (the bridge was a scheduled actor
// before: one extra enqueue, resume and wake-up per outbound frame).
// Thread-safe as monitorable_actor is: several channels, on several
// workers, may send at once; the sink serializes.
class sync_bridge final : public caf::monitorable_actor {
public:
  sync_bridge(caf::actor_config& cfg, std::weak_ptr<bridge_sink> sink)
    : caf::monitorable_actor(cfg), sink_(std::move(sink)) {
  }

  const char* name() const override {
    return "chanstate.bridge";
  }

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* ctx) override {
    if (getf(is_terminated_flag)) {
      bounce(what); // a request gets request_receiver_down
      return;
    }
    auto& xs = what->content();
    if (xs.match_elements<outbound_frame>()) {
      std::shared_lock<std::shared_mutex> guard{handing_over_};
      if (getf(is_terminated_flag))
        return; // ended meanwhile: the connection is gone or going
      // The sender is always a channel: only channels know this actor.
      if (auto s = sink_.lock())
        s->deliver(caf::actor_cast<caf::actor_addr>(what->sender),
                   std::move(xs.get_mutable_as<outbound_frame>(0)));
      return;
    }
    if (xs.match_elements<caf::monitor_atom, caf::actor>()) {
      const auto& ch = xs.get_as<caf::actor>(1);
      // Runs at once (a down into enqueue) if the channel already ended.
      if (ch)
        ch->attach(caf::default_attachable::make_monitor(ch.address(),
                                                         address()));
      return;
    }
    if (xs.match_elements<caf::close_atom, caf::error>()) {
      cleanup(std::move(xs.get_mutable_as<caf::error>(1)), ctx);
      return;
    }
    auto on_down = [this](caf::down_msg& dm) {
      std::shared_lock<std::shared_mutex> guard{handing_over_};
      if (getf(is_terminated_flag))
        return;
      if (auto s = sink_.lock())
        s->channel_down(dm.source, std::move(dm.reason));
    };
    if (handle_system_message(*what, ctx, false, on_down))
      return;
    bounce(what, caf::make_error(caf::sec::unexpected_message));
  }

protected:
  // A channel's worker may be handing a frame to the connection right now,
  // and while it does it holds the connection alive: the functors attached
  // to this actor (the server's tracker, which lets the io_context go) run
  // only once it let go. Before, the worker could end up holding the last
  // reference and destroy the connection after its io_context (SIGSEGV in
  // Beast's websocket service at shutdown, ~1 in 30 SIGINTs under load).
  bool cleanup(caf::error&& reason, caf::execution_unit* host) override {
    std::unique_lock<std::shared_mutex> guard{handing_over_};
    return caf::monitorable_actor::cleanup(std::move(reason), host);
  }

private:
  std::weak_ptr<bridge_sink> sink_;
  std::shared_mutex handing_over_;
};

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
  caf::actor_config cfg;
  return caf::make_actor<sync_bridge, caf::actor>(
    sys.next_actor_id(), sys.node(), &sys, cfg, std::move(sink));
}

caf::actor fetch_registry_stats(caf::actor_system& sys,
                                const registry_actor& registry,
                                std::chrono::milliseconds timeout,
                                stats_callback done) {
  return sys.spawn(stats_fetch_impl, registry, timeout, std::move(done));
}

} // namespace chanstate
