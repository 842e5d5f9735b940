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
  /// Generations of a key's state kept (the last commit and the ones before
  /// it), so that a state which keeps crashing its channel before serving
  /// anything can be skipped: the restore falls back one generation, then
  /// to empty (quarantine).
  std::size_t generations = 2;
  /// The poison guard: a restored state that crashed its channel (a throw
  /// or a stop with an error) before any client event handler completed,
  /// this many restores in a row, is set aside (fall back a generation, or
  /// quarantine). A crash after progress always keeps the newest commit;
  /// kills, lost transports and lost nodes never count. 0 turns it off.
  std::size_t poison_crashes = 3;
  /// How many quarantine records /stats keeps (the newest).
  std::size_t quarantine_keep = 100;
  /// How long a restore waits for the down message of the key's old channel.
  std::chrono::milliseconds down_wait = std::chrono::seconds{5};
  /// How often expired backups are swept while any exist.
  std::chrono::milliseconds sweep_interval = std::chrono::seconds{1};
  /// A backup not restored within this time is cold: a sweep packs it into
  /// a compact byte string (packed_backup), off the restore path, and a
  /// later restore unpacks it. Younger backups stay pointer-shared, so the
  /// restores of a crash storm never pay for packing. 0 = never pack.
  std::chrono::milliseconds pack_after = std::chrono::seconds{2};
};

} // namespace chanstate
