// The journal writer: batches the backup table's changes into LMDB.
#pragma once

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/journal_stats.hpp>
#include <chanstate/registry/journal_store.hpp>
#include <chanstate/registry/snapshot.hpp>
#include <chanstate/registry/table_observer.hpp>

// Snapshots travel between the registry, channels and the journal writer of
// one process by pointer; they never leave the process this way.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chanstate::snapshot)
using chanstate_journal_contents
  = std::vector<std::pair<chanstate::backup_key, chanstate::snapshot>>;
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chanstate_journal_contents)

namespace chanstate {

using journal_atom = caf::atom_constant<caf::atom("cs_journal")>;
/// (journal_sync_atom, seq) → seq once every change the caller made before
/// the request is written (see spawn_journal).
using journal_sync_atom = caf::atom_constant<caf::atom("cs_jsync")>;
/// (journal_durable_atom, seq): what journal_waiter::await promised.
using journal_durable_atom = caf::atom_constant<caf::atom("cs_jdurabl")>;

/// Lets a channel wait until the journal holds its commits without a
/// message to the writer: commits already sit in the writer's inbox (the
/// observer puts them there synchronously). When no batch is being written,
/// the waiting channel writes its own key's change itself (one transaction)
/// and goes on at once; while a batch is being written it spins briefly
/// (≤ 50 µs), then notes its wait, which the next batch that settles its key
/// answers. Thread-safe.
class journal_waiter {
public:
  virtual ~journal_waiter() = default;

  /// True if every change of `key` made before this call is on disk
  /// (already, or written by this call); otherwise `notify` later receives
  /// (journal_durable_atom, seq) once it is (never while writes fail; at
  /// once after a clean reset). Call from `notify`'s own handler.
  virtual bool await(const backup_key& key, const caf::actor& notify,
                     std::uint64_t seq) = 0;
};

/// The writer and the observer that feeds it (install the observer with
/// backup_table::set_observer).
struct journal_handle {
  caf::actor writer;
  std::shared_ptr<table_observer> observer;
  /// For channels that hold frames until the journal has their commits.
  std::shared_ptr<journal_waiter> waiter;
  /// What the writer reports after each transaction (the table's stats()
  /// show it as "journal"); set a listener to hear of failed writes.
  std::shared_ptr<journal_stats> stats;
};

/// Spawns the writer on its own thread: disk work never blocks a scheduler
/// worker on the writer's behalf, and its answers never queue behind the
/// channels a busy scheduler is running. `on_disk` is what the store already
/// holds (from load()), so unchanged assigns are not written again. Writes
/// are coalesced: changes collect in a locked inbox (latest per key) while a
/// batch is written and go into the next transaction, so a key committed
/// many times in between is written once; only the first change after a
/// batch wakes the writer. Once a channel has waited (--ack=durable),
/// channels write the changes their frames wait for (journal_waiter), and
/// the writer writes commits nobody waits for after `linger`, unless a
/// channel wrote the whole inbox meanwhile.
/// Messages: (caf::reset_atom) → clears the journal and ignores every later
/// change (a clean shutdown: nothing may be left to restore), replies
/// caf::unit or an error; (caf::flush_atom) → writes what is staged, then
/// replies caf::unit; (caf::get_atom) → what is on disk after a flush;
/// (journal_atom) → the writer's counters as JSON text;
/// (journal_sync_atom, seq) → seq, once a batch written after the request
/// arrived holds every change made before it (group commit: all syncs
/// waiting in the mailbox share one transaction). A failed write keeps its
/// changes staged, is retried every `retry`, and answers no sync or wait
/// until it succeeds (counted, said on stderr once per burst of failures).
journal_handle
spawn_journal(caf::actor_system& sys, std::unique_ptr<journal_store> store,
              std::vector<std::pair<backup_key, snapshot>> on_disk,
              std::chrono::milliseconds retry = std::chrono::milliseconds{50},
              std::chrono::milliseconds linger = std::chrono::milliseconds{2});

} // namespace chanstate
