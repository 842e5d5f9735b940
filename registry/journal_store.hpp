// The on-disk journal: every key's last saved assigns, in LMDB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/snapshot.hpp>

struct MDB_env;
struct MDB_txn;

namespace chanstate {

class journal_log;

/// One record per (topic, client id, assign name) holding the assign's JSON,
/// so a commit writes only the assigns that changed. LMDB with a writable
/// memory map and no sync: a committed write transaction survives the death
/// of the process (not of the machine; call sync() for that). Beside it, a
/// change log (journal_log) makes a batch durable as cheaply as a memory
/// copy; apply() moves what was logged into LMDB, and open() replays what a
/// dead process logged but did not apply.
class journal_store {
public:
  /// The format this build writes; a journal of a newer one is refused.
  /// 2: the change log beside LMDB (a build of format 1 would not replay it).
  /// 3: the log's values in a binary form (a build of format 2 would refuse
  /// such a record as corrupt).
  static constexpr int format_version = 3;

  /// Opens (creating if needed) the journal in `dir`. Refuses a journal of a
  /// newer format or one LMDB cannot read, with a message that says so.
  static caf::expected<std::unique_ptr<journal_store>>
  open(const std::string& dir, std::size_t map_bytes = std::size_t{1} << 30);

  ~journal_store();

  journal_store(const journal_store&) = delete;
  journal_store& operator=(const journal_store&) = delete;

  /// One key's change: assigns to write (value) or erase (nullptr value).
  struct assign_change {
    std::string name;
    std::shared_ptr<const boost::json::value> value;
  };

  struct key_change {
    backup_key key;
    bool erase_all = false;            // drop every record of the key first
    std::vector<assign_change> assigns;
  };

  /// Applies what was logged and not applied yet, then `batch`, in one
  /// write transaction; the log starts over behind it.
  caf::error apply(const std::vector<key_change>& batch);

  /// Makes `batch` durable in the change log (it survives the process from
  /// here on); the next apply() writes it into LMDB.
  caf::error log(std::vector<key_change> batch);

  /// True if the log holds records that apply() has not written yet, or
  /// that LMDB holds (apply_taken) but the log has not started over behind.
  bool unapplied() const noexcept {
    return !unapplied_.empty() || taken_applied_;
  }

  /// What the log held at one moment, taken out to go into LMDB without
  /// the caller's lock (see apply_taken).
  struct taken_log {
    std::vector<key_change> batches;
    std::uint64_t last_seq = 0; // the log's last record among them
  };

  /// Takes every logged batch not in LMDB yet (under the same lock as
  /// log()). Give it back with untake() unless apply_taken() succeeds.
  taken_log take_unapplied();

  /// Writes `t` into LMDB in one transaction, with the log position it
  /// reaches. Touches nothing that log() touches: the caller needs no lock
  /// against log() (only one apply_taken, apply or clear at a time). The log
  /// keeps its records (records logged meanwhile are not in LMDB yet); the
  /// next apply() takes those and starts the log over.
  caf::error apply_taken(const taken_log& t);

  /// apply_taken succeeded (under the same lock as log()): the next apply()
  /// starts the log over even if nothing was logged since.
  void taken_applied();

  /// A failed apply_taken: its batches go back in front of what was logged
  /// since (under the same lock as log()).
  void untake(taken_log t);

  /// Batches logged, and LMDB transactions that applied logged batches.
  std::uint64_t logged_batches() const noexcept {
    return logged_batches_;
  }
  std::uint64_t checkpoints() const noexcept {
    return checkpoints_;
  }

  /// Every journaled key with its assigns. A record that does not parse makes
  /// the whole load fail with journal_corrupt: nothing is silently skipped.
  caf::expected<std::vector<std::pair<backup_key, snapshot>>> load() const;

  /// Removes every record (a clean shutdown).
  caf::error clear();

  /// Flushes to stable storage.
  caf::error sync();

  /// Keys longer than LMDB allows are not journaled; this counts them.
  std::uint64_t refused_long_keys() const noexcept {
    return refused_long_keys_;
  }

private:
  journal_store() = default;

  // One transaction: the logged batches, then `batch`, and the log's
  // sequence number they reach.
  caf::error write(const std::vector<key_change>& batch);
  // Puts `changes` into `txn`.
  caf::error put_all(MDB_txn* txn, const std::vector<key_change>& changes);
  caf::error replay_log();
  int put_log_seq(MDB_txn* txn, std::uint64_t seq);
  static std::vector<key_change> coalesce(const std::vector<key_change>& first,
                                          const std::vector<key_change>& then);

  MDB_env* env_ = nullptr;
  unsigned int assigns_dbi_ = 0;
  unsigned int meta_dbi_ = 0;
  std::uint64_t refused_long_keys_ = 0;
  std::string dir_;
  std::unique_ptr<journal_log> log_;
  std::vector<key_change> unapplied_; // logged, not in LMDB yet
  // apply_taken wrote records the log still holds: the log starts over at
  // the next apply().
  bool taken_applied_ = false;
  std::uint64_t logged_batches_ = 0;
  std::uint64_t checkpoints_ = 0;
};

} // namespace chanstate
