// The write-through slot a live channel publishes its assigns into.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/snapshot.hpp>
#include <chanstate/registry/table_observer.hpp>

namespace chanstate {

/// One per live channel, shared by the channel (single writer) and the
/// registry (reader). A commit is one pointer swap under a spin lock: no
/// message, no copy, no serialization. The registry reads the cell when the
/// channel goes down, so even a kill, which runs no channel code, finds the
/// last commit.
///
/// The cell also keeps the previous generations (up to `keep` in all, by
/// pointer: unchanged values are shared) so that a state which crashes its
/// channel before serving anything can be skipped, and it records whether a
/// client event handler completed since the channel started (the poison
/// guard's "progress"). Everything but load() is read only after the channel
/// is down (the down message orders those reads after the channel's writes).
///
/// The map a commit displaces (the generation that drops out) is kept as a
/// spare when nothing else holds it: the channel's next change fills it in
/// place (take_spare, snapshot::set) instead of allocating a new map, so a
/// commit costs about what a change without write-through does. A spare
/// holds no value the assigns do not (snapshot::trim_spare): one map block
/// per cell.
class commit_cell {
public:
  /// `older`: generations before `initial`, newest first.
  explicit commit_cell(snapshot initial, std::vector<snapshot> older = {},
                       std::size_t keep = 1, backup_key key = {},
                       std::shared_ptr<table_observer> observer = nullptr)
    : keep_(keep == 0 ? 1
                      : static_cast<std::uint32_t>(
                        std::min<std::size_t>(keep, UINT32_MAX))),
      latest_(std::move(initial)),
      older_(std::move(older)),
      key_(std::move(key)),
      observer_(std::move(observer)) {
    if (older_.size() > keep_ - 1)
      older_.resize(keep_ - 1);
  }

  /// The channel ends cleanly: its state is to be dropped. Tells the
  /// journal (if any) now, so the client can be told only once the drop is
  /// on disk; the registry drops its backup when the channel is down.
  void dropping() {
    if (observer_)
      observer_->dropped(key_);
  }

  /// Publishes `s` as the channel's last completed state.
  void store(snapshot s) {
    if (observer_)
      observer_->committed(key_, s);
    // Under the lock only a pointer swap: `s` leaves holding the previous
    // state, which is kept as an older generation, kept as the spare or
    // released here, on the channel's thread, outside the lock.
    {
      guard g{lock_};
      latest_.data_.swap(s.data_);
    }
    // The map that drops out of the generations (or the previous state,
    // with one generation) becomes the spare, so the channel's next
    // commit reuses it instead of allocating and copying a map
    // (snapshot::set with a spare). The spare's slot sits behind the
    // generations in older_ and stays there once made (empty while taken).
    const auto gens = older_.size() - (spare_slot_ ? 1 : 0);
    if (keep_ > 1) {
      if (gens < keep_ - 1) {
        older_.insert(older_.begin(), std::move(s)); // nothing drops out
      } else {
        // Full: the oldest drops out, the rest move down one place.
        s.data_.swap(older_[gens - 1].data_);
        std::rotate(older_.begin(), older_.begin() + (gens - 1),
                    older_.begin() + gens);
      }
    }
    if (snapshot::trim_spare(s, latest_)) {
      if (spare_slot_) {
        older_.back() = std::move(s);
      } else {
        older_.push_back(std::move(s));
        spare_slot_ = true;
      }
    } else if (spare_slot_) {
      // An untaken spare from an earlier commit (a cell the registry
      // writes for a remote channel takes none) would keep values the
      // assigns dropped since.
      older_.back() = snapshot{};
    }
    // One writer: a plain increment, no read-modify-write.
    commits_.store(commits_.load(std::memory_order_relaxed) + 1,
                   std::memory_order_relaxed);
  }

  /// The map the last commit displaced, ready to be reused by the
  /// channel's next change (snapshot::set); empty if there is none. Only
  /// the channel (the writer) calls it.
  snapshot take_spare() noexcept {
    snapshot out;
    if (spare_slot_)
      out.data_.swap(older_.back().data_);
    return out;
  }

  /// The key this cell holds the state of (the channel's socket borrows
  /// its topic and client id from here).
  const backup_key& key() const noexcept {
    return key_;
  }

  /// The last published state (safe while the channel runs).
  snapshot load() const {
    guard g{lock_};
    return latest_;
  }

  /// The last state and the ones before it, newest first.
  std::vector<snapshot> generations() const {
    std::vector<snapshot> out;
    auto last = older_.end() - (spare_slot_ ? 1 : 0);
    out.reserve(1 + static_cast<std::size_t>(last - older_.begin()));
    out.push_back(latest_);
    out.insert(out.end(), older_.begin(), last);
    return out;
  }

  /// Called by the channel before each client event: names the event a
  /// crash without progress happened in. Once the channel made progress it
  /// only reads a flag.
  void event_started(std::string_view name) {
    if (!progressed_.load(std::memory_order_relaxed))
      last_event_.assign(name.data(), name.size());
  }

  /// Called by the channel after a client event handler returned: the state
  /// has served an event. One relaxed store.
  void event_completed() noexcept {
    progressed_.store(true, std::memory_order_relaxed);
  }

  /// True once a client event handler completed in this channel.
  bool progressed() const noexcept {
    return progressed_.load(std::memory_order_relaxed);
  }

  /// The client event the channel was handling before it made progress
  /// (empty if none reached it: it crashed in join or in handle_info).
  const std::string& last_event() const noexcept {
    return last_event_;
  }

  /// How many commits this cell has seen.
  std::uint64_t commits() const noexcept {
    return commits_.load(std::memory_order_relaxed);
  }

private:
  // Guards latest_ against load() on another thread while the channel
  // stores. Held for one pointer copy or swap, so a spin is enough; it
  // replaces std::atomic_store on a shared_ptr, which takes one of
  // libstdc++'s global mutexes and costs a second reference count.
  struct guard {
    explicit guard(std::atomic<bool>& flag) : flag_(flag) {
      while (flag_.exchange(true, std::memory_order_acquire))
        while (flag_.load(std::memory_order_relaxed))
          std::this_thread::yield();
    }
    ~guard() {
      flag_.store(false, std::memory_order_release);
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    std::atomic<bool>& flag_;
  };

  // One cell per live channel: the small fields share one word (README,
  // "Memory per channel and per backup"; commit_cell_test checks the size).
  mutable std::atomic<bool> lock_{false};
  std::atomic<bool> progressed_{false};
  bool spare_slot_ = false; // older_'s last element is the spare's slot
  std::uint32_t keep_;
  snapshot latest_;
  // The generations before latest_, newest first, then the spare's slot.
  std::vector<snapshot> older_;
  backup_key key_;
  std::shared_ptr<table_observer> observer_;
  std::atomic<std::uint64_t> commits_{0};
  std::string last_event_;
};

using commit_cell_ptr = std::shared_ptr<commit_cell>;

} // namespace chanstate
