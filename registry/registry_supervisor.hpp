// A stable registry handle that outlives crashes of the registry actor.
//
//   supervising ──registry down (abnormal)──▶ respawn over the same table ──▶ supervising
//   supervising ──registry down (normal / user_shutdown)──▶ ended
#pragma once

#include <memory>

#include <caf/actor_system.hpp>

#include <chanstate/registry/registry_actor.hpp>

namespace chanstate {

/// (registry_now_atom) → the current registry actor (for tests that kill it).
using registry_now_atom = caf::atom_constant<caf::atom("cs_regnow")>;

/// Spawns a registry behind a supervisor and returns the supervisor, which
/// speaks the registry's interface by delegating to the current registry.
/// The table belongs to the supervisor: when the registry crashes or is
/// killed, a new one takes the same table over (as an ETS heir would) and
/// monitors its live channels again; backups and last commits survive.
/// A request that raced the restart fails with request_receiver_down (a join
/// then gets an error reply and the client rejoins); a channel that ended
/// normally while no registry watched is kept as 'untracked' until its TTL.
registry_actor spawn_supervised_registry(caf::actor_system& sys,
                                         std::shared_ptr<backup_table> table);

} // namespace chanstate
