// The embeddable Phoenix endpoint: one call serves a service's own channels
// over WebSocket; the handle it returns stops it.
//
//   caf::actor_system sys{cfg};                      // the service's own
//   auto routes = std::make_shared<chanstate::router>();
//   routes->add("counter:*", [] { return std::make_unique<counter>(); });
//   chanstate::serve_options opts;
//   opts.endpoint.port = 4000;
//   auto ep = chanstate::serve(sys, routes, opts);   // caf::expected<endpoint>
//   if (!ep) ... ep.error() says why (port taken, journal refused, ...)
//   std::cout << ep->url() << '\n';                  // ws://127.0.0.1:4000/socket
//   ep->wait();                                      // or ep->stop() from anywhere
//
//   created ──serve()──▶ serving ──stop() | SIGINT/SIGTERM (opt-in)──▶ stopped
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <chanstate/actors/join.hpp>
#include <chanstate/actors/router.hpp>
#include <chanstate/endpoint/connect_params.hpp>
#include <chanstate/endpoint/registry_side.hpp>
#include <chanstate/endpoint/ws_server.hpp>
#include <chanstate/registry/registry_config.hpp>

namespace chanstate {

/// Everything serve() takes besides the routes; the defaults are
/// chanstate-node's defaults.
struct serve_options {
  /// Where to listen and the transport's limits (host, port, frame size,
  /// channels per socket, connections, join rate, timeouts, origins) and
  /// the connect callback (`endpoint.connect`, see connect_params.hpp).
  endpoint_options endpoint;
  /// The registry's bounds: backup TTL, caps, the poison guard.
  registry_config registry;
  /// The registry's home: in memory (default), an LMDB journal, published
  /// to other nodes, or another node's registry.
  registry_options registry_home;
  /// How long a joining channel waits for the registry before it refuses
  /// the join. Must be longer than registry.down_wait.
  std::chrono::milliseconds restore_timeout = std::chrono::seconds{10};
  /// Largest estimated size of one channel's assigns; 0 = no limit.
  std::size_t max_assigns_bytes = std::size_t{1} << 20;
  /// When a frame that follows a commit may leave: durable (after the
  /// journal or the remote registry holds the commit) or async (at once).
  ack_mode ack = ack_mode::durable;
  /// Also stop on SIGINT and SIGTERM (chanstate-node does). Off by default:
  /// a service usually owns its signals.
  bool stop_on_signals = false;
};

/// A running endpoint: its registry, pubsub and WebSocket listener. Asio
/// runs on one thread of its own, started by serve(); channels run on the
/// actor system's workers; the caller's thread is never used. Destroying
/// the handle stops the endpoint. Destroy it (or call stop()) before the
/// actor_system: ~actor_system waits for the endpoint's actors.
class endpoint {
public:
  /// Movable, not copyable; a moved-from handle stops nothing.
  endpoint(endpoint&&) noexcept;
  /// Stops the endpoint this handle held (if any), then takes `other`'s.
  endpoint& operator=(endpoint&&) noexcept;
  /// stop(), unless the handle was moved from.
  ~endpoint();

  /// The URL phoenix.js takes, e.g. "ws://127.0.0.1:4000/socket".
  const std::string& url() const;

  /// The port listened on (useful with endpoint.port = 0).
  std::uint16_t port() const;

  /// The port the registry was published on, if registry_home asked for it.
  std::optional<std::uint16_t> registry_port() const;

  /// Prints "chanstate-node listening on URL (ready)" (or "(not ready:
  /// why)") to `out`, and from then on one line there whenever readiness
  /// changes (remote registry link up/down, journal lost). GET /readyz
  /// answers the same either way.
  void announce(std::ostream& out);

  /// Stops accepting, ends every connection's channels with user_shutdown
  /// (their backups are dropped, as on a clean node shutdown), stops the
  /// registry and pubsub, and returns once the Asio thread has ended.
  /// Idempotent and callable from any thread except the Asio thread (a
  /// connect callback): there it only asks, and wait() finishes the job.
  void stop();

  /// Blocks until the endpoint stopped (stop() on another thread, or a
  /// signal with stop_on_signals), then finishes what stop() does.
  void wait();

  /// wait() for at most `timeout`; true if the endpoint has stopped.
  bool wait_for(std::chrono::milliseconds timeout);

  /// The channel environment (registry, pubsub, routes) the endpoint's
  /// channels share, e.g. to join channels in-process with join_channel.
  const channel_env& env() const;

  /// What a running endpoint holds (defined in serve.cpp).
  struct state;

private:
  friend caf::expected<endpoint>
  serve(caf::actor_system&, std::shared_ptr<const router>, serve_options);
  explicit endpoint(std::unique_ptr<state> st);
  std::unique_ptr<state> st_;
};

/// Starts the registry (as `opts.registry_home` says), pubsub and the
/// Phoenix v2 WebSocket endpoint at /socket/websocket (plus GET /stats,
/// /metrics, /healthz and /readyz; GET / with endpoint.demo_page) for
/// the channels `routes` names, on the service's own actor system. Returns
/// once it listens, or why it could not start (nothing is left running
/// then).
caf::expected<endpoint> serve(caf::actor_system& sys,
                              std::shared_ptr<const router> routes,
                              serve_options opts = {});

} // namespace chanstate
