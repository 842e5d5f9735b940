// The serving node: wiring, the one stdout line, and the shutdown order.
#include "app/node.hpp"

#include <algorithm>
#include <iostream>

#include <sys/resource.h>

#include <caf/all.hpp>

#include "actors/channel_error.hpp"
#include "actors/demo_channel.hpp"
#include "actors/pubsub.hpp"
#include "app/readiness.hpp"
#include "app/registry_side.hpp"
#include "app/ws_server.hpp"

namespace chanstate {

namespace {

// Each connection holds one descriptor; the journal, the middleman and
// stdio need a few more. Raises the soft limit as far as the hard one
// allows and says so when even that is short of --max-connections.
void ensure_descriptors(std::size_t max_connections) {
  constexpr rlim_t reserve = 256;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return;
  auto wanted = static_cast<rlim_t>(max_connections) + reserve;
  if (lim.rlim_cur >= wanted)
    return;
  lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? wanted
                                               : std::min(wanted, lim.rlim_max);
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < wanted)
    std::cerr << "chanstate-node: warning: only " << lim.rlim_cur
              << " file descriptors (ulimit -n) for --max-connections="
              << max_connections << "; connections past that fail to accept\n";
}

} // namespace

int run_node(caf::actor_system& sys, const node_config& cfg) {
  auto routes = std::make_shared<router>();
  if (auto err = routes->add("room:*",
                             demo_channel_factory(cfg.allow_fatal_demo))) {
    std::cerr << "chanstate-node: " << explain(err) << '\n';
    return 1;
  }
  ensure_descriptors(cfg.max_connections);
  auto side_opts = cfg.registry_side();
  // A join that finds the link to a remote registry down waits for it, but
  // leaves the registry its own answer time (down_wait) within
  // --restore-timeout, so the channel hears the link's clear error rather
  // than its own timeout (invalid() keeps this positive).
  side_opts.link_join_wait = cfg.restore_timeout() - cfg.registry().down_wait;
  auto side = start_registry_side(sys, cfg.registry(), side_opts);
  if (!side) {
    std::cerr << "chanstate-node: " << explain(side.error()) << '\n';
    return 1;
  }
  if (side->published_port)
    std::cout << "chanstate-node registry on " << cfg.registry_listen_host
              << ':' << *side->published_port << std::endl;
  channel_env env{side->handle, spawn_pubsub(sys), routes,
                  cfg.restore_timeout()};
  env.remote_registry = side->remote;
  env.max_assigns_bytes = cfg.max_assigns_bytes;
  env.counters = side->counters;
  env.ack = cfg.ack_mode();
  env.journal = side->journal();
  auto ready = std::make_shared<readiness>(side->remote ? side_opts.remote
                                                        : std::string{},
                                           !side_opts.journal_dir.empty());
  auto watch = spawn_readiness_watch(
    sys, ready,
    side->remote ? caf::actor_cast<caf::actor>(side->handle) : caf::actor{},
    side->journal());
  auto stop_core = [&] {
    caf::anon_send_exit(watch, caf::exit_reason::user_shutdown);
    side->stop(sys);
    caf::anon_send_exit(env.pubsub, caf::exit_reason::user_shutdown);
  };
  {
    // The server outlives every actor: bridges post into its io_context.
    ws_server server{sys, env, cfg.endpoint(), ready};
    auto url = server.listen();
    if (!url) {
      std::cerr << "chanstate-node: " << explain(url.error()) << '\n';
      stop_core();
      sys.await_all_actors_done();
      return 1;
    }
    ready->announce(std::cout, *url);
    server.run();
    std::cerr << "chanstate-node: shutting down\n";
    // Every connection told its channels user_shutdown; once they are gone
    // the registry and pubsub may go too.
    stop_core();
    sys.await_all_actors_done();
  }
  return 0;
}

} // namespace chanstate
