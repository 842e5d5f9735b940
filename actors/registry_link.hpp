// A channel node's stand-in for a registry that lives on another node.
//
//   connecting ──connected──▶ up ──registry down (node died, frozen, cut)──▶ connecting
//        ▲                                                                      │
//        └──────────────────────── retry after `retry` ◀───────────────────────┘
//
// While up: restores, commits and reattaches are delegated to the registry
// (the original sender is kept, so replies go straight to the channel and the
// registry sees who commits). While connecting: a join waits for the link
// (at most `join_wait`, at most `max_waiting_joins` of them; past either it
// is refused with registry_error::unreachable), commits are counted as
// deferred, and live channels keep serving; once up again every waiting join
// is delegated and every tracked channel reattaches with its full current
// assigns, so nothing committed meanwhile is lost. Subscribers hear every
// change between up and down.
#pragma once

#include <chrono>
#include <functional>
#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

#include <chanstate/registry/registry_actor.hpp>

namespace chanstate {

/// (link_stats_atom) → JSON text: connected, connects, disconnects,
/// connect_failures, stale_connects (connects answered with the registry
/// that had just died, retried), deferred_commits, waiting_joins,
/// waited_joins, refused_joins, tracked_channels.
using link_stats_atom = caf::atom_constant<caf::atom("cs_lstats")>;

/// (link_status_atom, bool up, std::string registry): sent to every
/// subscriber (caf::subscribe_atom, caf::actor) when it subscribes and
/// whenever the link goes up or down. `registry` is "HOST:PORT".
using link_status_atom = caf::atom_constant<caf::atom("cs_lstatus")>;

/// How a registry link behaves while the registry is out of reach.
struct registry_link_options {
  /// Pause between failed connection attempts.
  std::chrono::milliseconds retry{500};
  /// How long a join that arrives while the link is down waits for it
  /// before it is refused; 0 refuses at once. Keep it below the channels'
  /// restore timeout by the registry's own answer time (down_wait), so the
  /// channel hears the link's clear error, not its own timeout.
  std::chrono::milliseconds join_wait{5000};
  /// Joins waiting at once; one more is refused at once (and counted).
  std::size_t max_waiting_joins = 16384;
  /// Answers (caf::connect_atom, host, port) as CAF's middleman actor
  /// does; null = this system's middleman. Tests pass a stand-in.
  caf::actor connector;
  /// Told once per outage (the first failed connection attempt after the
  /// link was up, or at start) with CAF's text of the error, on the link's
  /// thread; must not block. Empty = a line on stderr.
  std::function<void(const std::string& error)> on_connect_failure;
};

/// Spawns the link; use the returned handle as channel_env::registry (with
/// remote_registry = true).
registry_actor spawn_registry_link(caf::actor_system& sys, std::string host,
                                   std::uint16_t port,
                                   registry_link_options opts = {});

} // namespace chanstate
