// The registry link: delegate while connected, refuse joins while not.
#include "actors/registry_link.hpp"

#include <unordered_map>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>

#include "registry/registry_error.hpp"
#include "registry/remote_protocol.hpp"

namespace chanstate {

namespace {

using reconnect_atom = caf::atom_constant<caf::atom("cs_reconn")>;

struct link_state {
  static inline const char* name = "chanstate.registry_link";
  std::string host;
  std::uint16_t port = 0;
  std::chrono::milliseconds retry{500};
  caf::actor remote;
  bool connecting = false;
  // Channels that restored through this link; told to reattach on reconnect.
  std::unordered_map<caf::actor_addr, caf::actor> channels;
  std::uint64_t connects = 0;
  std::uint64_t disconnects = 0;
  std::uint64_t deferred_commits = 0;
  std::uint64_t refused_joins = 0;
};

using link_ptr = caf::stateful_actor<link_state>*;

caf::error unreachable(link_ptr self) {
  return caf::make_error(registry_error::unreachable,
                         "registry at " + self->state.host + ":"
                           + std::to_string(self->state.port)
                           + " is unreachable; reconnecting");
}

void connect(link_ptr self) {
  auto& st = self->state;
  if (st.connecting || st.remote)
    return;
  st.connecting = true;
  auto mm = self->home_system().middleman().actor_handle();
  self
    ->request(mm, caf::infinite, caf::connect_atom::value, st.host, st.port)
    .then(
      [self](const caf::node_id&, caf::strong_actor_ptr& ptr,
             const std::set<std::string>&) {
        auto& st = self->state;
        st.connecting = false;
        if (!ptr) {
          self->delayed_send(self, st.retry, reconnect_atom::value);
          return;
        }
        st.remote = caf::actor_cast<caf::actor>(std::move(ptr));
        self->monitor(st.remote);
        ++st.connects;
        for (auto& [addr, ch] : st.channels)
          self->send(ch, reattach_atom::value);
      },
      [self](caf::error&) {
        auto& st = self->state;
        st.connecting = false;
        self->delayed_send(self, st.retry, reconnect_atom::value);
      });
}

caf::behavior link_impl(link_ptr self, std::string host, std::uint16_t port,
                        std::chrono::milliseconds retry) {
  auto& st = self->state;
  st.host = std::move(host);
  st.port = port;
  st.retry = retry;
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.remote && dm.source == st.remote.address()) {
      st.remote = nullptr;
      ++st.disconnects;
      connect(self);
      return;
    }
    st.channels.erase(dm.source);
  });
  connect(self);
  return {
    [self](reconnect_atom) { connect(self); },
    [self](restore_atom, const backup_key&,
           const caf::actor&) -> caf::result<restore_outcome> {
      return caf::make_error(registry_error::unreachable,
                             "the registry is remote: use remote_restore");
    },
    [self](remote_restore_atom atm, backup_key& key,
           caf::actor& channel) -> caf::result<caf::message> {
      auto& st = self->state;
      if (!st.remote) {
        ++st.refused_joins;
        return unreachable(self);
      }
      if (channel && st.channels.emplace(channel.address(), channel).second)
        self->monitor(channel);
      return self->delegate(st.remote, atm, std::move(key),
                            std::move(channel));
    },
    [self](commit_atom atm, backup_key& key,
           std::string& delta) -> caf::result<caf::message> {
      auto& st = self->state;
      if (!st.remote) {
        // The channel's reattach after the reconnect carries its full state
        // and acknowledges this commit; until then its frames wait.
        ++st.deferred_commits;
        return unreachable(self);
      }
      return self->delegate(st.remote, atm, std::move(key), std::move(delta));
    },
    [self](reattach_atom atm, backup_key& key, caf::actor& channel,
           std::string& assigns) -> caf::result<caf::message> {
      auto& st = self->state;
      if (!st.remote)
        return unreachable(self);
      return self->delegate(st.remote, atm, std::move(key), std::move(channel),
                            std::move(assigns));
    },
    [self](stats_atom atm) -> caf::result<caf::message> {
      if (!self->state.remote)
        return unreachable(self);
      return self->delegate(self->state.remote, atm);
    },
    [self](caf::get_atom atm, backup_key& key) -> caf::result<caf::message> {
      if (!self->state.remote)
        return unreachable(self);
      return self->delegate(self->state.remote, atm, std::move(key));
    },
    [self](caf::put_atom atm, backup_key& key,
           std::string& json) -> caf::result<caf::message> {
      if (!self->state.remote)
        return unreachable(self);
      return self->delegate(self->state.remote, atm, std::move(key),
                            std::move(json));
    },
    [self](link_stats_atom) {
      auto& st = self->state;
      return boost::json::serialize(boost::json::object{
        {"registry", st.host + ":" + std::to_string(st.port)},
        {"connected", static_cast<bool>(st.remote)},
        {"connects", st.connects},
        {"disconnects", st.disconnects},
        {"deferred_commits", st.deferred_commits},
        {"refused_joins", st.refused_joins},
        {"tracked_channels", st.channels.size()},
      });
    },
  };
}

} // namespace

registry_actor spawn_registry_link(caf::actor_system& sys, std::string host,
                                   std::uint16_t port,
                                   std::chrono::milliseconds retry) {
  return caf::actor_cast<registry_actor>(
    sys.spawn(link_impl, std::move(host), port, retry));
}

} // namespace chanstate
