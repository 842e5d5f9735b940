// The registry link: delegate while connected; joins wait for it while not.
#include <chanstate/actors/registry_link.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>

#include <chanstate/registry/registry_error.hpp>
#include <chanstate/registry/remote_protocol.hpp>

namespace chanstate {

namespace {

using reconnect_atom = caf::atom_constant<caf::atom("cs_reconn")>;
using join_wait_atom = caf::atom_constant<caf::atom("cs_jwait")>;

// A join that arrived while the link was down (the
// promise stays in the state: CAF 0.17 cannot put one in a message).
struct waiting_join {
  backup_key key;
  caf::actor channel;
  caf::response_promise promise;
};

struct link_state {
  static inline const char* name = "chanstate.registry_link";
  std::string host;
  std::uint16_t port = 0;
  registry_link_options opts;
  caf::actor remote;
  bool connecting = false;
  // Channels that restored through this link; told to reattach on reconnect.
  std::unordered_map<caf::actor_addr, caf::actor> channels;
  // Joins waiting for the link, by arrival number (oldest first).
  std::map<std::uint64_t, waiting_join> waiting;
  std::uint64_t next_waiting = 0;
  std::vector<caf::actor> subscribers;
  std::uint64_t connects = 0;
  std::uint64_t disconnects = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t failures_said = 0; // connect_failures when last connected
  std::uint64_t deferred_commits = 0;
  std::uint64_t waited_joins = 0;
  std::uint64_t refused_joins = 0;
  // The last remote registry seen dead (not merely cut off). CAF 0.17's
  // middleman caches host:port → actor and drops the entry only when its
  // own down message for that actor arrives, which may come after ours:
  // until then a connect is answered with the dead actor. Actor addresses
  // are never reused, so a connect that names this one is stale and is
  // retried.
  caf::actor_addr gone;
  // The proxy of the last connection lost. Its registry may be alive (a
  // cut link) and welcome back, but through a new proxy: CAF makes one per
  // connection. This object is dead, and the middleman's cache answers
  // with it just as with `gone` (a SIGKILLed registry node looks like a
  // cut), so a connect that returns this very object is stale too. The
  // weak handle keeps its control block, so no other actor gets its
  // address meanwhile.
  caf::actor_addr lost_proxy;
  std::uint64_t stale_connects = 0;

  std::string registry() const {
    return host + ":" + std::to_string(port);
  }
};

using link_ptr = caf::stateful_actor<link_state>*;

caf::error unreachable(link_ptr self, const std::string& why = "reconnecting") {
  return caf::make_error(registry_error::unreachable,
                         "registry at " + self->state.registry()
                           + " is unreachable; " + why);
}

void notify(link_ptr self) {
  auto& st = self->state;
  for (auto& sub : st.subscribers)
    self->send(sub, link_status_atom::value, static_cast<bool>(st.remote),
               st.registry());
}

// The link is up: every waiting join goes to the registry in arrival order,
// as if it had just arrived.
void release_waiting(link_ptr self) {
  auto& st = self->state;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& [id, w] : waiting) {
    // Monitored since it started waiting; from now on it is tracked.
    if (w.channel)
      st.channels.emplace(w.channel.address(), w.channel);
    w.promise.delegate(st.remote, remote_restore_atom::value,
                       std::move(w.key), std::move(w.channel));
  }
}

void connect(link_ptr self) {
  auto& st = self->state;
  if (st.connecting || st.remote)
    return;
  st.connecting = true;
  auto connector = st.opts.connector
                     ? st.opts.connector
                     : caf::actor_cast<caf::actor>(
                       self->home_system().middleman().actor_handle());
  self
    ->request(connector, caf::infinite, caf::connect_atom::value, st.host,
              st.port)
    .then(
      [self](const caf::node_id&, caf::strong_actor_ptr& ptr,
             const std::set<std::string>&) {
        auto& st = self->state;
        st.connecting = false;
        if (!ptr) {
          self->delayed_send(self, st.opts.retry, reconnect_atom::value);
          return;
        }
        if ((st.gone && caf::actor_cast<caf::actor_addr>(ptr) == st.gone)
            || (st.lost_proxy && ptr.get() == st.lost_proxy.get())) {
          // Adopting it would hand the waiting joins to a dead registry
          // (request_receiver_down, or no answer at all).
          ++st.stale_connects;
          self->delayed_send(self, st.opts.retry, reconnect_atom::value);
          return;
        }
        st.remote = caf::actor_cast<caf::actor>(std::move(ptr));
        st.failures_said = st.connect_failures;
        self->monitor(st.remote);
        ++st.connects;
        for (auto& [addr, ch] : st.channels)
          self->send(ch, reattach_atom::value);
        release_waiting(self);
        notify(self);
      },
      [self](caf::error& err) {
        auto& st = self->state;
        st.connecting = false;
        // Refused handshakes (a TLS peer without a certificate of our CA)
        // end here too: count them, and say so once per outage.
        if (st.connect_failures++ == st.failures_said) {
          auto why = self->system().render(err);
          if (st.opts.on_connect_failure)
            st.opts.on_connect_failure(why);
          else
            std::cerr << "chanstate-node: cannot attach to the registry at "
                      << st.host << ':' << st.port << ": " << why
                      << "; retrying\n";
        }
        self->delayed_send(self, st.opts.retry, reconnect_atom::value);
      });
}

caf::behavior link_impl(link_ptr self, std::string host, std::uint16_t port,
                        registry_link_options opts) {
  auto& st = self->state;
  st.host = std::move(host);
  st.port = port;
  st.opts = std::move(opts);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.remote && dm.source == st.remote.address()) {
      // A lost connection kills the proxy, not the registry: the same actor
      // may answer the next connect and is welcome back.
      if (dm.reason != caf::exit_reason::remote_link_unreachable)
        st.gone = dm.source;
      else
        st.lost_proxy = dm.source;
      st.remote = nullptr;
      ++st.disconnects;
      notify(self);
      connect(self);
      return;
    }
    st.channels.erase(dm.source);
    // A channel that ended while waiting has nobody left to answer.
    for (auto i = st.waiting.begin(); i != st.waiting.end();)
      i = i->second.channel.address() == dm.source ? st.waiting.erase(i)
                                                    : std::next(i);
    auto& subs = st.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const caf::actor& a) {
                                return a.address() == dm.source;
                              }),
               subs.end());
  });
  connect(self);
  return {
    [self](reconnect_atom) { connect(self); },
    [self](caf::subscribe_atom, caf::actor& who) {
      if (!who)
        return;
      self->monitor(who);
      self->send(who, link_status_atom::value,
                 static_cast<bool>(self->state.remote),
                 self->state.registry());
      self->state.subscribers.push_back(std::move(who));
    },
    [self](restore_atom, const backup_key&,
           const caf::actor&) -> caf::result<restore_outcome> {
      return caf::make_error(registry_error::unreachable,
                             "the registry is remote: use remote_restore");
    },
    [self](restore_atom, const backup_key&, const caf::actor&,
           caf::timespan) -> caf::result<restore_outcome> {
      return caf::make_error(registry_error::unreachable,
                             "the registry is remote: use remote_restore");
    },
    [self](remote_restore_atom atm, backup_key& key,
           caf::actor& channel) -> caf::result<caf::message> {
      auto& st = self->state;
      if (!st.remote) {
        if (st.opts.join_wait.count() <= 0) {
          ++st.refused_joins;
          return unreachable(self);
        }
        if (st.waiting.size() >= st.opts.max_waiting_joins) {
          ++st.refused_joins;
          return unreachable(self, std::to_string(st.waiting.size())
                                     + " joins already wait for it");
        }
        // Wait for the link instead of failing a join that arrives a
        // moment before it is up (at start, or during a registry restart).
        auto id = ++st.next_waiting;
        if (channel)
          self->monitor(channel);
        auto rp = self->make_response_promise();
        st.waiting.emplace(id, waiting_join{std::move(key), std::move(channel),
                                            rp});
        ++st.waited_joins;
        self->delayed_send(self, st.opts.join_wait, join_wait_atom::value, id);
        return rp;
      }
      if (channel && st.channels.emplace(channel.address(), channel).second)
        self->monitor(channel);
      return self->delegate(st.remote, atm, std::move(key),
                            std::move(channel));
    },
    [self](join_wait_atom, std::uint64_t id) {
      auto& st = self->state;
      auto i = st.waiting.find(id);
      if (i == st.waiting.end())
        return; // released or gone
      ++st.refused_joins;
      i->second.promise.deliver(unreachable(
        self, "waited " + std::to_string(st.opts.join_wait.count())
                + " ms for it"));
      // Still monitored: untracked channels are simply not found on down.
      st.waiting.erase(i);
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
        {"registry", st.registry()},
        {"connected", static_cast<bool>(st.remote)},
        {"connects", st.connects},
        {"disconnects", st.disconnects},
        {"connect_failures", st.connect_failures},
        {"stale_connects", st.stale_connects},
        {"deferred_commits", st.deferred_commits},
        {"waiting_joins", st.waiting.size()},
        {"waited_joins", st.waited_joins},
        {"refused_joins", st.refused_joins},
        {"tracked_channels", st.channels.size()},
      });
    },
  };
}

} // namespace

registry_actor spawn_registry_link(caf::actor_system& sys, std::string host,
                                   std::uint16_t port,
                                   registry_link_options opts) {
  return caf::actor_cast<registry_actor>(
    sys.spawn(link_impl, std::move(host), port, std::move(opts)));
}

} // namespace chanstate
