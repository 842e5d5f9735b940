// The serving node: wiring, the one stdout line, and the shutdown order.
#include "app/node.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>

#include <sys/resource.h>

#include <caf/all.hpp>

#include "actors/channel_error.hpp"
#include "actors/demo_channel.hpp"
#include "actors/pubsub.hpp"
#include "app/log.hpp"
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

// The options in effect, once, so that a log says what the node ran with.
void log_start(const node_config& cfg, const std::string& url) {
  auto ms = [](caf::timespan t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
  };
  log_event(spdlog::level::info, "node_start", "chanstate-node started",
            {{"url", url},
             {"journal", cfg.journal.empty() ? "off" : cfg.journal},
             {"registry", cfg.registry_at.empty() ? "own" : cfg.registry_at},
             {"registry_listen", cfg.registry_listen},
             {"max_connections", cfg.max_connections},
             {"max_channels", cfg.max_channels},
             {"max_frame_bytes", cfg.max_frame_bytes},
             {"max_outbound_bytes", cfg.max_outbound_bytes},
             {"join_rate", (std::ostringstream{} << cfg.join_rate).str()},
             {"join_burst", cfg.join_burst},
             {"idle_timeout_ms", ms(cfg.idle_timeout)},
             {"max_assigns_bytes", cfg.max_assigns_bytes},
             {"backup_ttl_ms", ms(cfg.backup_ttl)},
             {"max_backups", cfg.max_backups},
             {"max_backup_bytes", cfg.max_backup_bytes},
             {"crash_loop_limit", cfg.crash_loop_limit},
             {"generations", cfg.generations},
             {"allowed_origins",
              cfg.allowed_origins.empty() ? "any" : cfg.allowed_origins},
             {"log_level", cfg.log_level},
             {"log_format", cfg.log_format}});
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
  auto side = start_registry_side(sys, cfg.registry(), cfg.registry_side());
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
  auto stop_core = [&] {
    side->stop(sys);
    caf::anon_send_exit(env.pubsub, caf::exit_reason::user_shutdown);
  };
  {
    // The server outlives every actor: bridges post into its io_context.
    ws_server server{sys, env, cfg.endpoint()};
    auto url = server.listen();
    if (!url) {
      std::cerr << "chanstate-node: " << explain(url.error()) << '\n';
      stop_core();
      sys.await_all_actors_done();
      return 1;
    }
    std::cout << "chanstate-node listening on " << *url << std::endl;
    log_start(cfg, *url);
    server.run();
    log_event(spdlog::level::info, "node_stop",
              "chanstate-node: shutting down (SIGINT/SIGTERM)");
    // Every connection told its channels user_shutdown; once they are gone
    // the registry and pubsub may go too.
    stop_core();
    sys.await_all_actors_done();
    flush_log_summaries();
    log_event(spdlog::level::info, "node_stopped", "chanstate-node stopped");
  }
  return 0;
}

} // namespace chanstate
