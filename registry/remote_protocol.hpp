// The registry's protocol for channels on other nodes: JSON text, no pointers.
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include <chanstate/registry/snapshot.hpp>

namespace chanstate {

/// restore for a channel on another node (replies remote_restore).
using remote_restore_atom = caf::atom_constant<caf::atom("cs_rrestor")>;
/// (commit_atom, backup_key, delta): a remote channel's commit.
using commit_atom = caf::atom_constant<caf::atom("cs_commit")>;
/// (reattach_atom, backup_key, channel, assigns): a live channel that lost
/// its registry (partition, registry restart) registers again with its
/// current assigns, which win over any backup of the key.
using reattach_atom = caf::atom_constant<caf::atom("cs_reattch")>;

/// A restore outcome that can cross nodes: the assigns as JSON object text.
struct remote_restore {
  /// True if a saved state was found; `assigns` holds it then.
  bool restored = false;
  /// "backup", "takeover" or "none", as in restore_outcome.
  std::string source;
  /// Why a saved state was not restored (the poison guard), else empty.
  std::string reason;
  /// The assigns as JSON object text ("{}" when nothing was restored).
  std::string assigns;
  /// Generations the poison guard skipped (0: the newest state).
  std::uint64_t fallback_generation = 0;
};

/// CAF's serialization of a remote_restore.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_restore& x) {
  return f(caf::meta::type_name("remote_restore"), x.restored, x.source,
           x.reason, x.assigns, x.fallback_generation);
}

/// The change from `before` to `after` as {"set": {...}, "unset": [...]}:
/// unchanged values (the same pointer) are not serialized, so a commit costs
/// O(keys) plus the bytes of what changed.
std::string encode_delta(const snapshot& before, const snapshot& after);

/// Applies a delta made by encode_delta; fails on text that is not one.
caf::expected<snapshot> apply_delta(const snapshot& base,
                                    const std::string& delta);

/// A snapshot as JSON object text.
std::string to_json_text(const snapshot& s);

/// A snapshot from JSON object text; fails on text that does not parse or
/// is not an object.
caf::expected<snapshot> snapshot_from_json_text(const std::string& text);

} // namespace chanstate
