// The registry actor: owns the backup table, monitors live channels.
//
//   restore(key, ch) ──key not live──▶ attach ──▶ reply {restored, cell}
//        │
//        └─key live──▶ exit(old, taken_over) ──down(old) or down_wait──▶ attach
//
// down(ch) ──exit matrix──▶ discard | keep | keep + poison guard (progress?)
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/backup_table.hpp>
#include <chanstate/registry/remote_protocol.hpp>

// A restore outcome carries the commit cell, a pointer into this process:
// it is for local channels only and must never be serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chanstate::restore_outcome)

namespace chanstate {

using restore_atom = caf::atom_constant<caf::atom("cs_restore")>;
using stats_atom = caf::atom_constant<caf::atom("cs_stats")>;
using sweep_atom = caf::atom_constant<caf::atom("cs_sweep")>;
using wait_over_atom = caf::atom_constant<caf::atom("cs_waitend")>;

/// The registry's interface.
/// - restore: registers the channel as the key's live channel and answers
///   with its starting assigns; waits for the key's previous channel to go
///   down first (bounded by down_wait). With a deadline (a time point of
///   the actor clock, as time since its epoch) the join is refused with
///   sec::request_timeout once it passed: when the registry gets to the
///   request late, or while it waits for the previous channel. A local
///   channel sends it instead of a request timeout, which would cost two
///   events on CAF's clock thread per join (README, "Crash recovery").
/// - put: imports a JSON object as the key's backup; replies its byte size.
/// - get: the key's backup as JSON text, or registry_error::no_backup.
/// - stats: counters and sizes as JSON text.
/// - remote_restore / commit: the same for a channel on another node, where
///   no commit cell can be shared: assigns travel as JSON text, commits as
///   deltas (see remote_protocol.hpp); reattach re-registers a live channel
///   after its node lost the registry for a while. A commit's reply (true)
///   is its acknowledgement: the channel's frames after it wait for it
///   (outbound_gate); a refused commit replies an error.
using registry_actor = caf::typed_actor<
  caf::replies_to<restore_atom, backup_key, caf::actor>::with<restore_outcome>,
  caf::replies_to<restore_atom, backup_key, caf::actor,
                  caf::timespan>::with<restore_outcome>,
  caf::replies_to<remote_restore_atom, backup_key,
                  caf::actor>::with<remote_restore>,
  caf::replies_to<commit_atom, backup_key, std::string>::with<bool>,
  caf::replies_to<reattach_atom, backup_key, caf::actor,
                  std::string>::with<bool>,
  caf::replies_to<caf::put_atom, backup_key, std::string>::with<std::uint64_t>,
  caf::replies_to<caf::get_atom, backup_key>::with<std::string>,
  caf::replies_to<stats_atom>::with<std::string>,
  caf::reacts_to<sweep_atom>,
  caf::reacts_to<wait_over_atom, backup_key, std::uint64_t>>;

/// Spawns a registry over `table`. The table is shared so that it can outlive
/// the actor: a registry that restarts takes the same table over.
registry_actor spawn_registry(caf::actor_system& sys,
                              std::shared_ptr<backup_table> table);

} // namespace chanstate
