// The node's side of the registry: its own (supervised, journaled,
// published) or a link to one on another node.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <chanstate/registry/limit_counters.hpp>
#include <chanstate/registry/registry_actor.hpp>
#include <chanstate/registry/registry_config.hpp>

namespace chanstate {

class journal_waiter;


/// How this node gets its registry (see README, "Crashes that are survived").
struct registry_options {
  /// Keep backups and live commits in an LMDB journal here ("" = off).
  std::string journal_dir;
  /// The journal's largest size (LMDB's map size); once it is full, writes
  /// fail, are counted and retried (/stats journal.failing).
  std::size_t journal_map_bytes = std::size_t{1} << 30;
  /// Publish this node's registry on this port (0 = pick one; off if unset).
  std::optional<std::uint16_t> listen_port;
  /// The address to publish on. Off loopback use `tls`: anyone who reaches
  /// the port reads and writes every backup (chanstate-node refuses it
  /// without TLS unless --cluster-insecure; this struct checks nothing).
  std::string listen_host = "127.0.0.1";
  /// "HOST:PORT" of another node's registry to use instead of our own.
  std::string remote;
  /// With `remote`: how long a join waits for the link while it is down.
  std::chrono::milliseconds link_join_wait = std::chrono::seconds{5};
  /// Publish and connect through CAF's OpenSSL module (mutual TLS with the
  /// certificates in the actor system's openssl.* settings).
  bool tls = false;
};

/// Started by start_registry_side; stop() it after every channel has ended.
class registry_side {
public:
  /// The handle channels use (channel_env::registry).
  registry_actor handle;
  /// True when `handle` is a link to another node's registry.
  bool remote = false;
  /// The port the registry was published on, if it was.
  std::optional<std::uint16_t> published_port;
  /// Where this node's channels count refused commits
  /// (channel_env::counters): our registry's, or our own with a remote
  /// registry. /stats shows them as "commits_refused" either way.
  std::shared_ptr<limit_counters> counters;

  /// The journal writer, or null without a journal.
  const caf::actor& journal() const noexcept {
    return journal_;
  }

  /// What channels wait on for durability (channel_env::journal), or null.
  const std::shared_ptr<journal_waiter>& journal_sync() const noexcept {
    return journal_waiter_;
  }

  /// A clean shutdown: clears the journal (the exit matrix drops every state
  /// on a clean node shutdown) and stops the registry's actors.
  void stop(caf::actor_system& sys);

private:
  friend caf::expected<registry_side>
  start_registry_side(caf::actor_system&, const registry_config&,
                      const registry_options&);
  caf::actor journal_;
  std::shared_ptr<journal_waiter> journal_waiter_;
};

/// Opens the journal (refusing a corrupt one or one of a newer format, never
/// resetting it), loads what it holds as backups, spawns the supervised
/// registry and publishes it; or links to a remote registry.
caf::expected<registry_side>
start_registry_side(caf::actor_system& sys, const registry_config& cfg,
                    const registry_options& opts);

} // namespace chanstate
