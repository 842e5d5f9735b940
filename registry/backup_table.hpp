// The table the registry owns: live channels and the backups of dead ones.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>
#include <caf/error.hpp>

#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/commit_cell.hpp>
#include <chanstate/registry/exit_policy.hpp>
#include <chanstate/registry/histogram.hpp>
#include <chanstate/registry/limit_counters.hpp>
#include <chanstate/registry/packed_backup.hpp>
#include <chanstate/registry/registry_config.hpp>
#include <chanstate/registry/snapshot.hpp>
#include <chanstate/registry/table_observer.hpp>

namespace chanstate {

using time_point = caf::actor_clock::time_point;

/// What a joining channel learns from the registry.
struct restore_outcome {
  /// True if the channel starts from saved assigns.
  bool restored = false;
  /// "backup", "takeover" (a live channel handed its state over) or "none".
  std::string source = "none";
  /// Why nothing was restored when something had been saved: the poison
  /// guard quarantined it (every saved generation kept crashing its channel
  /// before serving an event).
  std::string reason;
  /// 0 when restored from the last commit; n when the poison guard skipped
  /// the n newest generations (the state that kept crashing its channel
  /// without progress, and what was committed on top of it meanwhile).
  std::size_t fallback_generation = 0;
  /// The cell the new channel commits into; holds the starting assigns.
  commit_cell_ptr cell;
};

/// Every drop is counted; stats() reports these with the sizes.
struct registry_counters {
  std::uint64_t restores_from_backup = 0;
  std::uint64_t restores_from_takeover = 0;
  std::uint64_t restores_fresh = 0;
  std::uint64_t restores_fallback = 0;
  std::uint64_t restores_refused_poison = 0;
  /// Crashes of a restored state before any client event completed.
  std::uint64_t crashes_without_progress = 0;
  /// Times the poison guard fell back a generation / quarantined a state.
  std::uint64_t poison_fallbacks = 0;
  std::uint64_t poison_quarantined = 0;
  std::uint64_t kept_after_crash = 0;
  std::uint64_t kept_after_other = 0;
  std::uint64_t discarded_normal = 0;
  std::uint64_t expired = 0;
  std::uint64_t evicted = 0;
  std::uint64_t evicted_bytes = 0;
  std::uint64_t imported = 0;
  std::uint64_t down_wait_timeouts = 0;
  std::uint64_t superseded_joins = 0;
  std::uint64_t rejected_commits = 0;
  std::uint64_t reattached = 0;
  std::uint64_t registry_restarts = 0;
  /// Cold backups packed by a sweep, and restores that unpacked one.
  std::uint64_t packed = 0;
  std::uint64_t restores_from_packed = 0;
  /// Cold backups left hot because packing would not have made them
  /// smaller (a tiny state).
  std::uint64_t kept_hot = 0;
  /// Packed backups that failed to unpack (only a bug can cause one): the
  /// join got no state and its reply says why.
  std::uint64_t unpack_failures = 0;
};

/// A state the poison guard set aside, for inspection.
struct quarantine_record {
  backup_key key;
  std::string exit_reason;
  std::string last_event;      // the event it crashed in; empty: join/info
  std::size_t crashes = 0;     // crashes without progress in a row
  std::size_t skipped = 0;     // generations skipped for the next restore
  bool exhausted = false;      // nothing older left: the next join is fresh
};

/// Plain data structure, no actors: the registry actor drives it, tests poke
/// it directly. Not thread-safe; only its owning actor touches it.
class backup_table {
public:
  explicit backup_table(registry_config cfg)
    : cfg_(cfg), limits_(std::make_shared<limit_counters>()) {
  }

  // The age list points into the map's nodes: a copy would point into the
  // original's.
  backup_table(const backup_table&) = delete;
  backup_table& operator=(const backup_table&) = delete;

  const registry_config& config() const noexcept {
    return cfg_;
  }

  /// Reports every later change of saved state to `observer` (the journal).
  void set_observer(std::shared_ptr<table_observer> observer) {
    observer_ = std::move(observer);
  }

  /// The live channel serving `key`, if any.
  std::optional<caf::actor_addr> live_channel(const backup_key& key) const;

  /// Makes `channel` the live channel of `key`, starting from the key's
  /// backup if one is there. The key must not be live. `sees_progress`:
  /// the channel reports progress into its commit cell (a local channel);
  /// the poison guard never blames the state of a channel that does not.
  restore_outcome attach(const backup_key& key, caf::actor_addr channel,
                         time_point now, bool sees_progress = true);

  /// What try_attach did.
  struct attach_attempt {
    /// The key's live channel, if it had one: then nothing changed.
    std::optional<caf::actor_addr> live;
    /// How `channel` starts, if it was attached.
    restore_outcome outcome;
  };

  /// attach() if `key` has no live channel; otherwise changes nothing and
  /// says which channel is live. One lookup instead of live_channel() and
  /// attach().
  attach_attempt try_attach(const backup_key& key, caf::actor_addr channel,
                            time_point now, bool sees_progress = true);

  /// Every tracked live channel (a registry taking the table over monitors
  /// them again).
  std::vector<caf::actor_addr> live_channels() const;

  /// Makes `channel` the live channel of `key` with `assigns`, dropping any
  /// backup of the key: a live channel's own state is the newest there is.
  void reattach(const backup_key& key, caf::actor_addr channel,
                snapshot assigns);

  /// Applies the exit matrix to a channel that went down. Returns the key it
  /// served, or nothing if the registry did not track it.
  std::optional<backup_key> detach(const caf::actor_addr& channel,
                                   const caf::error& reason, time_point now);

  /// Stores `assigns` as the backup of `key` (import, or journal replay).
  void put_backup(const backup_key& key, snapshot assigns, time_point now);

  /// The backup of `key`, if one is stored (not the live state).
  std::optional<snapshot> peek_backup(const backup_key& key) const;

  /// The commit cell of the live channel of `key`, or nullptr.
  commit_cell_ptr live_cell(const backup_key& key) const;

  /// The last commit of the live channel of `key`, if any.
  std::optional<snapshot> peek_live(const backup_key& key) const;

  /// Drops backups whose TTL has passed; returns how many.
  std::size_t expire(time_point now);

  /// When the oldest backup expires, if any exist.
  std::optional<time_point> next_expiry() const;

  /// Packs up to `max` cold backups (stored at least `pack_after` before
  /// `now`), oldest first; returns how many were looked at. The registry
  /// calls it in small slices from its sweep, so a restore never waits
  /// behind a long run of packing.
  std::size_t pack_cold(time_point now, std::size_t max);

  /// True if a backup is cold and not packed yet.
  bool has_cold(time_point now) const;

  /// Backups held in packed form right now.
  std::size_t packed_count() const noexcept {
    return packed_count_;
  }

  std::size_t live_count() const noexcept {
    return live_.size();
  }

  std::size_t backup_count() const noexcept {
    return backups_.size();
  }

  std::size_t backup_bytes() const noexcept {
    return backup_bytes_;
  }

  registry_counters& counters() noexcept {
    return counters_;
  }

  const registry_counters& counters() const noexcept {
    return counters_;
  }

  /// The node's counters of limits that channels enforce (refused
  /// commits); give it to channels as channel_env::counters.
  const std::shared_ptr<limit_counters>& limits() const noexcept {
    return limits_;
  }

  /// Counters and sizes as one JSON object.
  boost::json::object stats() const;

private:
  /// The poison guard's memory of a key, carried from channel to channel:
  /// crashes without progress in a row, and how many of the newest
  /// generations were committed since the key's last progress.
  struct streak {
    std::uint32_t crashes = 0;
    std::uint32_t unproven = 0;
  };

  struct live_entry {
    caf::actor_addr channel;
    commit_cell_ptr cell;
    streak guard;
    bool restored = false;      // started from a saved state
    bool sees_progress = false; // its cell learns of progress (local)
  };

  struct backup_entry;
  // Not noexcept, to cache each node's hash (see live_key_hash).
  struct backup_key_hash {
    std::size_t operator()(const backup_key& x) const {
      return std::hash<backup_key>{}(x);
    }
  };
  using backup_map =
    std::unordered_map<backup_key, backup_entry, backup_key_hash>;
  using backup_slot = std::pair<const backup_key, backup_entry>;

  // One per stored backup, so every byte counts (README, "Memory per
  // channel and per backup"): 96 B next to its key and cached hash in the
  // map's node, no other allocation besides what the state itself holds.
  struct backup_entry {
    snapshot assigns;             // what the next restore starts from
    std::vector<snapshot> older;  // generations before it, newest first
    // Non-empty for a cold backup: assigns and older live here instead.
    packed_backup packed;
    std::size_t bytes = 0;
    time_point expires_at;
    // Set only when the poison guard dropped the state (quarantined): what
    // the next join is told. Nothing else reads an exit reason, so a
    // stored backup keeps none.
    std::unique_ptr<std::string> quarantine_note;
    streak guard;
    std::uint32_t fallback = 0;   // generations skipped to reach `assigns`
    bool from_takeover = false;
    // The age list, threaded through the map's nodes (they never move):
    // no list node of its own per backup.
    backup_slot* age_prev = nullptr; // older
    backup_slot* age_next = nullptr; // newer

    bool quarantined() const noexcept {
      return quarantine_note != nullptr;
    }
  };

  streak take_backup(const backup_key& key, time_point now,
                     restore_outcome& out);
  void store_backup(const backup_key& key, backup_entry entry);
  void erase_backup(backup_map::iterator i);
  void drop_backup(backup_map::iterator i);
  void age_push_back(backup_slot* s) noexcept;
  void age_unlink(backup_slot* s) noexcept;
  void enforce_caps();
  bool is_cold(const backup_entry& b, time_point now) const;
  bool unpack(backup_entry& b, snapshot& start, std::vector<snapshot>& older);
  commit_cell_ptr make_cell(const backup_key& key, snapshot start,
                            std::vector<snapshot> older) const;
  void judge_progress(const live_entry& entry, exit_verdict verdict,
                      backup_entry& b);
  void set_aside(const backup_key& key, const live_entry& entry,
                 std::string exit_reason, backup_entry& b);

  // A live channel's key is the one in its commit cell: stored once per
  // live channel, for the registry and the channel's socket alike (README,
  // "Memory per channel and per backup"). A lookup wraps the caller's key.
  struct live_key {
    // Mutable only to move it to an equal key (try_attach): the node's
    // hash and place stay the same.
    mutable const backup_key* key;
    friend bool operator==(live_key x, live_key y) noexcept {
      return *x.key == *y.key;
    }
  };
  // Not noexcept on purpose: libstdc++ then keeps each node's hash in the
  // node (8 B), and a lookup compares cached hashes instead of hashing the
  // key of every node it passes, which for a live key means a trip into
  // its commit cell (a cache miss per node in a storm). Measured: 2-3%
  // less CPU per crash and rejoin; with mimalloc the nodes stay in their
  // size class.
  struct live_key_hash {
    std::size_t operator()(live_key x) const {
      return std::hash<backup_key>{}(*x.key);
    }
  };
  struct addr_hash {
    std::size_t operator()(const caf::actor_addr& x) const noexcept {
      return static_cast<std::size_t>(x.id());
    }
  };

  registry_config cfg_;
  using live_map = std::unordered_map<live_key, live_entry, live_key_hash>;
  live_map live_;
  // Each live channel's slot in live_ (map nodes never move): the key is
  // stored once per live channel, not again here (README, "Memory per
  // channel and per backup"). A slot is erased only through its channel's
  // entry here, so no entry points at an erased slot.
  std::unordered_map<caf::actor_addr, live_map::value_type*, addr_hash>
    by_channel_;
  // Makes `entry` the live one of its cell's key (replacing any other).
  live_map::value_type& set_live(live_entry entry);
  backup_map backups_;
  // The age list: oldest (oldest_) to newest (newest_). Every backup gets
  // the same TTL, so this is also expiry order.
  backup_slot* oldest_ = nullptr;
  backup_slot* newest_ = nullptr;
  // The last backup pack_cold looked at (nullptr: none yet). Backups are
  // packed in age order, so every one before it is packed or has nothing
  // to pack, and a sweep never walks them again.
  backup_slot* pack_cursor_ = nullptr;
  std::size_t packed_count_ = 0;
  std::size_t backup_bytes_ = 0;
  std::deque<quarantine_record> quarantine_;
  registry_counters counters_;
  std::shared_ptr<limit_counters> limits_;
  std::shared_ptr<table_observer> observer_;
  /// Crash (backup stored) → restore, in seconds (stats():
  /// "backup_age_at_restore").
  histogram backup_age_{backup_age_bounds(), histogram::unit::seconds};
  static std::vector<double> backup_age_bounds();
};

} // namespace chanstate
