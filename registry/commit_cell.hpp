// The write-through slot a live channel publishes its assigns into.
#pragma once

#include <atomic>
#include <memory>

#include "registry/backup_key.hpp"
#include "registry/snapshot.hpp"
#include "registry/table_observer.hpp"

namespace chanstate {

/// One per live channel, shared by the channel (single writer) and the
/// registry (reader). A commit is one atomic pointer store: no message, no
/// copy, no serialization. The registry reads the cell when the channel goes
/// down, so even a kill, which runs no channel code, finds the last commit.
class commit_cell {
public:
  explicit commit_cell(snapshot initial)
    : current_(std::make_shared<const snapshot>(std::move(initial))) {
  }

  /// A cell whose commits are also reported to `observer` (the journal).
  commit_cell(snapshot initial, backup_key key,
              std::shared_ptr<table_observer> observer)
    : current_(std::make_shared<const snapshot>(std::move(initial))),
      key_(std::move(key)),
      observer_(std::move(observer)) {
  }

  /// Publishes `s` as the channel's last completed state.
  void store(snapshot s) {
    if (observer_)
      observer_->committed(key_, s);
    std::atomic_store_explicit(&current_,
                               std::make_shared<const snapshot>(std::move(s)),
                               std::memory_order_release);
    commits_.fetch_add(1, std::memory_order_relaxed);
  }

  /// The last published state.
  snapshot load() const {
    return *std::atomic_load_explicit(&current_, std::memory_order_acquire);
  }

  /// How many commits this cell has seen (for stats and tests).
  std::uint64_t commits() const noexcept {
    return commits_.load(std::memory_order_relaxed);
  }

private:
  std::shared_ptr<const snapshot> current_;
  backup_key key_;
  std::shared_ptr<table_observer> observer_;
  std::atomic<std::uint64_t> commits_{0};
};

using commit_cell_ptr = std::shared_ptr<commit_cell>;

} // namespace chanstate
