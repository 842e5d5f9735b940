// The journal's shared core: the inbox of changes and the batch writer.
//
//   commit of key k ──put──▶ inbox (latest per key)
//   frame waits for k ──▶ journal_core::await
//        ├─ nobody writing: log k's change here (if any) ──────▶ out now
//        ├─ k settled (not in the inbox, no batch in flight) ──▶ out now
//        ├─ a batch is being written: spin ≤ 50 µs ────────────▶ out now
//        └─ otherwise: wait noted; the next batch that settles k answers it
//   writer actor: the log into LMDB (without the batch lock), commits
//   nobody waits for (after a linger), retries, syncs
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/registry/journal_store.hpp>
#include <chanstate/registry/snapshot.hpp>

namespace chanstate::journal_detail {

/// To the writer actor: write now (waits left over, or a failed write).
using serve_atom = caf::atom_constant<caf::atom("cs_jserve")>;

/// Changes waiting to be written, latest per key, and the channels waiting
/// for them. Commits arrive on every channel's thread at event rate; here
/// they cost one uncontended lock and a map assignment, and many commits of
/// one key between two batches are written once. A key is *settled* once
/// every change put for it is on disk: it is not in `changes`, and no batch
/// taken from here is still unwritten (`in_flight`).
struct change_inbox {
  using change_map = std::unordered_map<backup_key, std::optional<snapshot>>;
  std::mutex mtx;
  change_map changes;
  bool wake_sent = false; // the writer was woken and has not drained since
  // Something was taken from `changes` and is not on disk yet: being
  // written, or staged after a failed write. One flag, not a set of keys:
  // only one batch is written at a time, so a waiter that finds it set
  // waits at most for that batch (or the retry after a failure).
  bool in_flight = false;
  std::uint64_t drains = 0;      // of the whole inbox, by anyone
  std::uint64_t waits_noted = 0; // waits that had to be answered later
  bool closed = false; // a clean shutdown: nothing is waited for any more
  struct waiter {
    backup_key key;
    caf::actor_addr who; // weak: a waiting channel may end meanwhile
    std::uint64_t seq;
  };
  std::vector<waiter> waiters;

  /// True if every change put for `key` so far is on disk (or nothing is
  /// waited for any more).
  bool settled(const backup_key& key);

  /// Notes a wait for `key` unless it is settled by now; true if it is.
  bool park(const backup_key& key, const caf::actor& notify,
            std::uint64_t seq);

  /// The batch taken last is on disk and nothing is staged (needs the
  /// batch lock, held since the batch was taken): the waiters whose key is
  /// settled now, in the order they waited; `left` (if given) gets how
  /// many still wait.
  std::vector<waiter> written(std::size_t* left = nullptr);

  std::size_t waiting();

  std::uint64_t noted();

  /// A clean shutdown: every waiter goes, nobody waits again.
  std::vector<waiter> close();

  /// Records a change (`what` null: the key is dropped); true if the caller
  /// must wake the writer.
  bool put(const backup_key& key, const snapshot* what);

  bool empty();

  /// Takes every change (needs the batch lock). Only the writer's drains
  /// re-arm the wake: after a channel's drain, the wake already sent still
  /// finds whatever comes next.
  change_map drain(bool by_writer);

  /// Takes `key`'s change, if one is pending, into `into` (needs the batch
  /// lock). Not a drain: the other keys' changes stay for the batches that
  /// wait for them or for the writer, which still writes them after its
  /// linger. True if something was taken.
  bool take(const backup_key& key, std::optional<snapshot>& into);

  std::uint64_t drains_now();

  enum class linger_end { idle, again, write };

  /// The writer's linger is over: nothing left (the wake is re-armed),
  /// channels drained the whole inbox meanwhile (linger again: they write
  /// what they wait for, and the writer keeps out of their way), or write
  /// now.
  linger_end after_linger(std::uint64_t& drains_seen);
};

/// Tells each waiter its batch is written. `host` is the worker running the
/// caller (null off the scheduler): a channel woken from a worker runs next
/// on that worker, as after any send between actors.
void notify(std::vector<change_inbox::waiter> ws,
            caf::execution_unit* host = nullptr);

/// What turns the inbox into durable batches: one batch at a time (`mtx`),
/// logged by a channel that waits for it (the change log) or written by the
/// writer actor (an LMDB transaction, with every batch logged before it).
struct batch_state {
  std::mutex mtx;
  std::shared_ptr<journal_store> store;
  std::unordered_map<backup_key, snapshot> on_disk;
  // Latest wanted state per key since the last batch; nullopt = erase.
  std::unordered_map<backup_key, std::optional<snapshot>> staged;
  bool closed = false; // after a reset: a clean shutdown writes nothing more
  std::chrono::milliseconds retry{50};
  // Since the last failed write, until one succeeds; read without mtx by
  // channels, which leave retrying to the writer.
  std::atomic<bool> failing{false};
  // The change log holds batches LMDB does not have yet (waiting channels
  // logged them): the writer's next transaction takes them. Read without
  // mtx by the writer to decide whether to write.
  std::atomic<bool> logged{false};
  std::uint64_t failed_in_burst = 0;
  std::uint64_t changes_seen = 0;
  std::uint64_t batches = 0;
  std::uint64_t batches_by_waiters = 0; // written by a waiting channel
  std::uint64_t records_written = 0;
  // Batch figures and failed writes for /stats, /metrics and the log; set
  // once at spawn.
  std::shared_ptr<journal_stats> stats;
};

/// The inbox and the batch state, shared by the writer actor, the observer
/// and the channels: a channel whose frame waits for its commit writes the
/// batch itself when nobody else is writing, so the frame leaves in the same
/// activation (see await).
struct journal_core : journal_waiter {
  change_inbox inbox;
  batch_state batch;
  caf::actor writer; // set once at spawn
  // How long commits nobody waits for collect once channels write.
  std::chrono::milliseconds linger{2};
  // Set by the first wait: from then on channels write the batches they
  // wait for, and the writer lingers before writing the rest.
  std::atomic<bool> waiters_write{false};

  bool await(const backup_key& key, const caf::actor& notify,
             std::uint64_t seq) override;

  bool settled(const backup_key& key) override {
    return inbox.settled(key);
  }

  /// Writes batches of the whole inbox while nobody else writes and waits
  /// are noted, at most `rounds`; leftovers go to the writer actor.
  /// `caller` is the channel running this (its worker runs the channels it
  /// wakes).
  void serve(int rounds, const caf::actor& caller);

private:
  enum class own_write { done, busy, failed };
  // Writes `key`'s pending change, and only that, if nobody else writes;
  // then serves the waits noted meanwhile.
  own_write write_own(const backup_key& key, const caf::actor& caller);
  // One batch written on a channel's worker if nobody else writes: `key`'s
  // change only, or (null) the whole inbox. Answers the waits it settles
  // from the caller's worker; a failed write goes to the writer to retry.
  // `left`: the waits still noted after it.
  own_write write_as_channel(const backup_key* key, const caf::actor& caller,
                             std::size_t& left);
};

/// The writer's checkpoint of what channels logged, with the batch lock
/// held only to take the logged batches and to settle after: the LMDB
/// transaction (coalescing, JSON text, the B-tree) runs while channels go
/// on logging their waits. A write_staged(by_writer) after it takes only
/// what was logged meanwhile and starts the log over. On failure the
/// batches go back to the log's unapplied ones, for write_staged to retry.
void checkpoint_unlocked(journal_core& core);

/// Writes what is staged, and what the inbox holds, in one transaction.
/// Needs batch.mtx. On failure the staged changes stay (the next attempt
/// writes them with anything newer) and nothing counts as written: frames
/// are never released as if durable. True if everything staged is on disk.
bool write_staged(journal_core& core, bool by_writer);

/// As write_staged, but of the inbox only `key`'s change joins the batch.
bool write_key(journal_core& core, const backup_key& key);

} // namespace chanstate::journal_detail
