// chanstate-node's options: the endpoint's and the registry's knobs, on the
// command line (--help) and in an INI file (--config-file=...).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include <chanstate/actors/join.hpp>
#include <chanstate/endpoint/registry_side.hpp>
#include <chanstate/endpoint/ws_server.hpp>
#include <chanstate/registry/registry_config.hpp>

namespace chanstate {

/// The node's configuration. Every option is global (--port=4000 on the
/// command line, `port = 4000` at the top of an INI file), because CAF's
/// --help lists only global options.
struct node_config : caf::actor_system_config {
  node_config();

  /// Parses the command line and the file named by --config-file=PATH
  /// (config_file.hpp: `#` comments, an unknown key is an error naming it).
  /// Unlike CAF's parse(), reads no caf-application.ini by itself.
  caf::error parse_command_line(int argc, char** argv);

  /// The endpoint options as the server takes them.
  endpoint_options endpoint() const;

  /// The registry limits as the registry takes them.
  registry_config registry() const;

  /// How long a joining channel waits for the registry.
  std::chrono::milliseconds restore_timeout() const;

  /// --ack as the channels take it (call after invalid() said nothing).
  chanstate::ack_mode ack_mode() const;

  /// Journal, published registry or remote registry, from the options.
  registry_options registry_side() const;

  /// Why the options cannot work together, or empty. Call after parse().
  std::string invalid() const;

  /// Turns on CAF's middleman heartbeat when registries cross nodes, so a
  /// frozen peer is noticed within about two seconds, and hands the
  /// --cluster-* files to CAF's OpenSSL module. Call after parse().
  void prepare_cluster();

  /// The scheduler in effect: "stealing" or "sharing" (CAF's
  /// --scheduler.policy, the node's default unless set).
  std::string scheduler_policy() const;

  /// CAF's --scheduler.max-threads in effect.
  std::size_t scheduler_threads() const;

  /// CAF's --work-stealing.aggressive-poll-attempts and
  /// --work-stealing.moderate-poll-attempts in effect.
  std::pair<std::size_t, std::size_t> steal_polls() const;

  /// True when --cluster-cert/--cluster-key/--cluster-ca are set: cluster
  /// links use CAF's OpenSSL module (load caf::openssl::manager).
  bool cluster_tls() const;

  // Bound to the options; defaults come from endpoint_options and
  // registry_config so that there is one source for each.
  std::string host;
  std::uint16_t port;
  std::size_t max_frame_bytes;
  std::size_t max_channels;
  std::size_t max_connections;
  double join_rate;
  std::size_t join_burst;
  caf::timespan idle_timeout;
  caf::timespan handshake_timeout;
  std::size_t max_outbound_bytes;
  std::string allowed_origins;
  std::string token_secret_file; // empty: client_id taken on trust
  std::string tls_cert;          // with tls_key: wss://
  std::string tls_key;
  bool allow_fatal_demo = false;

  caf::timespan backup_ttl;
  std::size_t max_backups;
  std::size_t max_backup_bytes;
  caf::timespan down_wait;
  caf::timespan sweep_interval;
  caf::timespan pack_after; // 0 = never pack cold backups
  caf::timespan restore_timeout_span;
  std::size_t max_assigns_bytes; // 0 = no limit
  std::size_t generations;
  std::size_t poison_crashes;

  std::string journal;
  std::size_t journal_map_mb = 1024;
  std::string ack = "durable";
  int registry_listen = -1; // -1: do not publish
  std::string registry_listen_host = "127.0.0.1";
  std::string registry_at;
  caf::timespan cluster_heartbeat = std::chrono::milliseconds{500};
  std::string cluster_cert;
  std::string cluster_key;
  std::string cluster_ca;
  bool cluster_insecure = false;

  std::string log_level = "info";  // error|warn|info|debug
  std::string log_format = "text"; // text|json
};

} // namespace chanstate
