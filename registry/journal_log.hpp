// The journal's change log: where a waiting channel's commit becomes durable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chanstate/registry/journal_store.hpp>

namespace chanstate {

/// An append-only log of journal batches in a file mapped MAP_SHARED. A
/// record is a copy into the kernel's page cache, no system call and no
/// LMDB transaction: once append() returns, the batch survives the death of
/// the process (not of the machine, like the LMDB journal with MDB_NOSYNC).
/// The LMDB journal takes the logged batches later, many per transaction
/// (a checkpoint), and the log starts over behind it.
///
/// Records carry consecutive sequence numbers. The sequence number is the
/// last thing a record writes, so a record cut short by the process's death
/// is never read back: replay stops at the first record whose number is not
/// the next one (a torn tail, or what an earlier round left behind).
/// Not thread-safe: the journal calls it under its batch lock.
class journal_log {
public:
  /// Opens (creating if needed) the log at `path`.
  static caf::expected<std::unique_ptr<journal_log>>
  open(const std::string& path);

  ~journal_log();

  journal_log(const journal_log&) = delete;
  journal_log& operator=(const journal_log&) = delete;

  /// Appends `batch` as one record; its sequence number is last() after.
  /// Fails (and appends nothing) only if the file cannot grow.
  caf::error append(const std::vector<journal_store::key_change>& batch);

  /// The batches logged after sequence number `after`, in order. A record
  /// that does not decode fails the replay with journal_corrupt.
  caf::expected<std::vector<journal_store::key_change>> replay(std::uint64_t after) const;

  /// Every record up to last() is in LMDB: the log starts over. Sequence
  /// numbers go on counting, from `first` at least (LMDB's position, so
  /// that a new or replaced log never numbers a record as already applied).
  void restart(std::uint64_t first = 0);

  /// The sequence number of the last record appended (0: none yet).
  std::uint64_t last() const noexcept {
    return next_seq_ - 1;
  }

  /// Bytes of records since the last restart.
  std::size_t used() const noexcept;

  /// Flushes the mapping to stable storage.
  caf::error sync();

private:
  journal_log() = default;
  caf::error reserve(std::size_t bytes);

  std::string path_;
  int fd_ = -1;
  char* map_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t tail_ = 0;         // where the next record goes
  std::uint64_t next_seq_ = 1;
  std::string scratch_; // one record's payload, reused
};

} // namespace chanstate
