// The serving node: the demo routes, chanstate::serve, the stdout lines.
#include "app/node.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>

#include <sys/resource.h>

#include <caf/all.hpp>

#include <chanstate/actors/channel_error.hpp>
#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/endpoint/log.hpp>
#include <chanstate/endpoint/serve.hpp>

#include <chanstate/endpoint/token.hpp>

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
void log_start(caf::actor_system& sys, const node_config& cfg,
               const std::string& url) {
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
             {"ack", cfg.ack},
             {"generations", cfg.generations},
             {"allowed_origins",
              cfg.allowed_origins.empty() ? "any" : cfg.allowed_origins},
             {"scheduler", cfg.scheduler_policy()},
             {"workers", sys.scheduler().num_workers()},
             {"steal_polls", std::to_string(cfg.steal_polls().first) + "/"
                               + std::to_string(cfg.steal_polls().second)},
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
  serve_options opts;
  opts.endpoint = cfg.endpoint();
  if (!cfg.token_secret_file.empty()) {
    std::string why;
    opts.endpoint.tokens = token_keyring::load(cfg.token_secret_file, why);
    if (!opts.endpoint.tokens) {
      std::cerr << "chanstate-node: " << why << '\n';
      return 1;
    }
  } else {
    log_event(spdlog::level::warn, "no_token_secret",
              "no --token-secret-file: any client may claim any client_id "
              "and get its state");
  }
  opts.registry = cfg.registry();
  opts.registry_home = cfg.registry_side();
  opts.restore_timeout = cfg.restore_timeout();
  opts.max_assigns_bytes = cfg.max_assigns_bytes;
  opts.ack = cfg.ack_mode();
  opts.stop_on_signals = true;
  auto ep = serve(sys, std::move(routes), std::move(opts));
  if (!ep) {
    std::cerr << "chanstate-node: " << explain(ep.error()) << '\n';
    return 1;
  }
  if (auto p = ep->registry_port())
    std::cout << "chanstate-node registry on " << cfg.registry_listen_host
              << ':' << *p << std::endl;
  // "listening on URL (ready)", then a line at every change of readiness.
  ep->announce(std::cout);
  log_start(sys, cfg, ep->url());
  ep->wait();
  log_event(spdlog::level::info, "node_stop",
            "chanstate-node: shutting down (SIGINT/SIGTERM)");
  flush_log_summaries();
  return 0;
}

} // namespace chanstate
