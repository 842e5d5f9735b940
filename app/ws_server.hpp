// The Phoenix WebSocket endpoint that serve() runs (Beast stays behind this
// header: only ws_server_plain.cpp and ws_server_tls.cpp include it).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <chanstate/actors/join.hpp>
#include <chanstate/endpoint/connect_params.hpp>
#include <chanstate/endpoint/join_limiter.hpp>
#include <chanstate/endpoint/readiness.hpp>
#include <chanstate/endpoint/token.hpp>

namespace chanstate {

/// Everything the endpoint lets an operator tune.
struct endpoint_options {
  /// Address to listen on.
  std::string host = "127.0.0.1";
  /// Port to listen on; 0 picks a free one (endpoint::port() tells which).
  std::uint16_t port = 4000;
  /// Frames larger than this are refused with close 1009.
  std::size_t max_frame_bytes = std::size_t{1} << 20;
  /// Phoenix's max_channels_per_transport.
  std::size_t max_channels = 100;
  /// WebSocket connections open at once; one more is closed with 1013
  /// (try again later) right after its handshake.
  std::size_t max_connections = 16384;
  /// Joins per second per client id, over all its connections.
  join_rate_options join_rate;
  /// A connection that sends nothing for this long is closed (Phoenix's
  /// websocket `timeout`); its channels keep their backups.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds{60};
  /// Bound on the HTTP request, the WebSocket handshake and the close
  /// handshake.
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds{10};
  /// A connection whose unsent frames pass this many bytes is closed.
  std::size_t max_outbound_bytes = std::size_t{8} << 20;
  /// Allowed Origin header values; empty allows every origin.
  std::vector<std::string> allowed_origins;
  /// Decides each connect and its client id (Phoenix's connect/3); empty
  /// takes the `client_id` connect param as the client id.
  connect_callback connect;
  /// Secrets for signed identity tokens; null takes the client_id param on
  /// trust. With a keyring, SIGHUP re-reads its file.
  std::shared_ptr<token_keyring> tokens;
  /// PEM certificate chain and key: serve wss:// (TLS 1.2+) instead of
  /// ws://. Both or neither.
  std::string tls_cert;
  /// The PEM private key of tls_cert.
  std::string tls_key;
  /// Serve the demo page (for the `room:*` demo channel) at GET /.
  /// chanstate-node turns it on; a service's own channels would not work
  /// with it.
  bool demo_page = false;
};

/// Serves /socket/websocket (Phoenix serializer v2), GET /stats, GET
/// /metrics (Prometheus text), GET / (with demo_page), GET /healthz (200
/// while serving) and GET /readyz (200 when `ready` says so, else 503 with
/// the reason; always 200 without one) on one io_context run by the
/// calling thread.
class ws_server {
public:
  /// A server for the channels of `env`, with `opts`' limits; it does not
  /// listen before listen().
  ws_server(caf::actor_system& sys, channel_env env, endpoint_options opts,
            std::shared_ptr<const readiness> ready = nullptr);

  /// Destroy only after every actor is done: bridges may still post into the
  /// io_context until then.
  ~ws_server();

  /// Not copyable: it owns its io_context and connections.
  ws_server(const ws_server&) = delete;
  ws_server& operator=(const ws_server&) = delete;

  /// Loads the TLS files, binds and listens; returns the URL for clients,
  /// e.g. "ws://127.0.0.1:4000/socket" ("wss://" with TLS), or why not.
  caf::expected<std::string> listen();

  /// Makes SIGINT and SIGTERM stop the server as stop() does (and SIGHUP
  /// reload the token secrets, when there are any). Call before
  /// run(), on the thread that announces the server: a signal that arrives
  /// after this call is never lost, even before run() started.
  void catch_signals();

  /// Serves until stop() (or a signal, after catch_signals()), then ends
  /// every connection's channels with user_shutdown and returns. The
  /// calling thread is the one Asio thread.
  void run();

  /// Asks run() to end as a signal would. Thread-safe; may come before run().
  void stop();

  /// Blocks until every actor that may still post into this server (the
  /// connections' bridges, /stats requests) has ended. Call after run()
  /// returned and before destroying the server.
  void wait_idle();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace chanstate
