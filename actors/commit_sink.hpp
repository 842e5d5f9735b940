// Where a channel's commits go: a shared cell or a registry on another node.
#pragma once

#include <memory>
#include <string_view>

#include <caf/fwd.hpp>

#include <chanstate/actors/outbound_gate.hpp>
#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/commit_cell.hpp>
#include <chanstate/registry/registry_actor.hpp>
#include <chanstate/registry/snapshot.hpp>

namespace chanstate {

/// Same process: one atomic store into the registry's commit cell. Another
/// node: a {set, unset} delta against the last commit, sent to the registry
/// (its middleman keeps the order of one sender's messages) as a request
/// whose reply acknowledges it to the channel's outbound gate.
class commit_sink {
public:
  /// No sink yet (a channel before its join); only assignable.
  commit_sink() = default;

  explicit commit_sink(commit_cell_ptr cell) : cell_(std::move(cell)) {
  }

  commit_sink(caf::event_based_actor* self, registry_actor registry,
              backup_key key, snapshot base)
    : remote_(std::make_unique<remote>(
      remote{self, std::move(registry), std::move(key), std::move(base)})) {
  }

  /// The key commits go to: the cell's, or the remote registry's copy.
  const backup_key& key() const noexcept {
    static const backup_key none;
    return cell_ ? cell_->key() : remote_ ? remote_->key : none;
  }

  /// The last state published (the one the channel started from before
  /// its first commit): what a refused commit goes back to.
  snapshot initial() const {
    return cell_ ? cell_->load() : remote_->last;
  }

  /// Publishes `s` as commit number gate.committed(); a remote registry's
  /// acknowledgement reaches gate.durable(). The gate must outlive the
  /// channel's pending requests (it lives in the channel's state). A cell
  /// takes `s`'s reference and leaves `s` a view of the map it now holds
  /// (snapshot::hand_over): the cell keeps it until the next publish.
  void publish(snapshot& s, outbound_gate& gate);

  /// The map the cell's last commit displaced, for the socket's next
  /// change to reuse (commit_cell::take_spare); empty for a remote sink.
  snapshot take_spare() noexcept {
    return cell_ ? cell_->take_spare() : snapshot{};
  }

  /// Before each client event (names the event a crash without progress
  /// happened in; see commit_cell).
  void event_started(std::string_view name) {
    if (cell_)
      cell_->event_started(name);
  }

  /// After a client event handler returned: the poison guard's progress.
  /// A channel on another node has no cell, and its registry never blames
  /// its state (README, "Poison state").
  void event_completed() noexcept {
    if (cell_)
      cell_->event_completed();
  }

  /// A clean end: the journal of a cell (same process) hears of the drop
  /// now (commit_cell::dropping). A registry on another node drops its
  /// backup when the channel is down.
  void dropping() {
    if (cell_)
      cell_->dropping();
  }

  /// After a reattach the registry holds `s`: later deltas start from it.
  void rebase(snapshot s) {
    remote_->last = std::move(s);
  }

  /// The registry on another node this sink commits to; null for a cell.
  registry_actor remote_registry() const {
    return remote_ ? remote_->registry : registry_actor{};
  }

private:
  // Only a channel whose registry is on another node needs these: behind
  // one pointer, a local channel's sink is 24 bytes of its state, not 112.
  struct remote {
    caf::event_based_actor* self;
    registry_actor registry;
    backup_key key;
    snapshot last;
  };

  commit_cell_ptr cell_;
  std::unique_ptr<remote> remote_;
};

} // namespace chanstate
