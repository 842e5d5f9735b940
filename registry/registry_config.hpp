// The registry's limits; every one is a knob of chanstate-node.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace chanstate {

/// Bounds that keep the backup table from growing without limit.
struct registry_config {
  /// A backup not restored within this time is dropped (counted as expired).
  std::chrono::milliseconds backup_ttl = std::chrono::minutes{5};
  /// At most this many backups; the oldest is evicted first.
  std::size_t max_backups = 100'000;
  /// At most this many estimated bytes of backups; the oldest goes first.
  std::size_t max_backup_bytes = std::size_t{256} << 20;
  /// A key whose channel crashed this often within `crash_window` loses its
  /// backup, so a state that itself causes the crash cannot loop forever.
  std::size_t crash_loop_limit = 5;
  std::chrono::milliseconds crash_window = std::chrono::seconds{60};
  /// Generations of a key's state kept (the last commit and the ones before
  /// it), so a state that crashes its channel right after a restore can be
  /// skipped: the next restore falls back one generation, then to empty.
  std::size_t generations = 2;
  /// A restored channel is on probation until it handled
  /// `probation_events` client events or `probation_time` passed, whichever
  /// comes first; a crash of its own code (not a kill) within it blames the
  /// restored state. A probation_time of 0 turns this guard off.
  std::uint64_t probation_events = 3;
  std::chrono::milliseconds probation_time = std::chrono::seconds{2};
  /// How many quarantine records /stats keeps (the newest).
  std::size_t quarantine_keep = 100;
  /// How long a restore waits for the down message of the key's old channel.
  std::chrono::milliseconds down_wait = std::chrono::seconds{5};
  /// How often expired backups are swept while any exist.
  std::chrono::milliseconds sweep_interval = std::chrono::seconds{1};
};

} // namespace chanstate
