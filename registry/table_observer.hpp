// Hooks through which the backup table reports changes (used by the journal).
#pragma once

#include <boost/json/value.hpp>

#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/snapshot.hpp>

namespace chanstate {

/// Told about every change of a key's saved state. `committed` is called on
/// the committing channel's thread, the others on the registry's: an
/// implementation must be thread-safe and must not block (send a message).
class table_observer {
public:
  virtual ~table_observer() = default;

  /// A live channel published new assigns.
  virtual void committed(const backup_key& key, const snapshot& assigns) = 0;

  /// A backup was stored (channel down and kept, or imported).
  virtual void stored(const backup_key& key, const snapshot& assigns) = 0;

  /// The key's state is gone (discarded, expired, evicted, quarantined).
  virtual void dropped(const backup_key& key) = 0;

  /// The observer's own figures (the journal's writes), shown in the
  /// table's stats() under "journal"; null for none. Called on the
  /// registry's thread.
  virtual boost::json::value figures() const {
    return nullptr;
  }
};

} // namespace chanstate
