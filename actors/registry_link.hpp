// A channel node's stand-in for a registry that lives on another node.
//
//   connecting ──connected──▶ up ──registry down (node died, frozen, cut)──▶ connecting
//        ▲                                                                      │
//        └──────────────────────── retry after `retry` ◀───────────────────────┘
//
// While up: restores, commits and reattaches are delegated to the registry
// (the original sender is kept, so replies go straight to the channel and the
// registry sees who commits). While connecting: joins are refused with
// registry_error::unreachable, commits are counted as deferred, and live
// channels keep serving; once up again every tracked channel reattaches with
// its full current assigns, so nothing committed meanwhile is lost.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

#include "registry/registry_actor.hpp"

namespace chanstate {

/// (link_stats_atom) → JSON text: connected, connects, disconnects,
/// deferred_commits, refused_joins, tracked_channels.
using link_stats_atom = caf::atom_constant<caf::atom("cs_lstats")>;

/// Spawns the link; use the returned handle as channel_env::registry (with
/// remote_registry = true).
registry_actor spawn_registry_link(caf::actor_system& sys, std::string host,
                                   std::uint16_t port,
                                   std::chrono::milliseconds retry
                                   = std::chrono::milliseconds{500});

} // namespace chanstate
