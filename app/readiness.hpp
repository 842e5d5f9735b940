// Whether the node is ready to serve joins: what GET /readyz answers and
// what the node's readiness lines on stdout say.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>

#include <boost/json/value.hpp>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace chanstate {

/// The node's readiness: its registry is reachable (always for its own
/// registry; a remote one while the link is up) and its journal, if any, is
/// open. Thread-safe: the HTTP thread reads it, a CAF actor updates it.
class readiness {
public:
  /// `registry`: "HOST:PORT" of a remote registry, or empty for our own
  /// (always reachable); `journal`: whether the node keeps one.
  readiness(std::string registry, bool journal);

  /// True when the node is ready; `json` gets the /readyz body either way
  /// ({"ready":..., "registry":..., "journal":..., "reason":... if not}).
  bool check(std::string& json) const;

  /// Prints the startup line ("chanstate-node listening on URL (ready)" or
  /// "(not ready: why)") to `out`; from then on every change of readiness
  /// prints one line there too.
  void announce(std::ostream& out, const std::string& url);

  /// The remote registry's link went up or down.
  void set_registry(bool up);

  /// With a remote registry, its link for /stats ("registry_link"):
  /// {"registry": "HOST:PORT", "connected": bool, "ups": n, "downs": n}
  /// (changes since start); null with our own registry.
  boost::json::value link_figures() const;

  /// The journal writer stopped (why); the node is not ready any more.
  void journal_lost(std::string why);

private:
  bool ready_locked() const;
  std::string reason_locked() const;
  void changed_locked(bool was_ready);

  mutable std::mutex mtx_;
  std::string registry_; // empty: our own
  bool registry_up_;
  std::uint64_t link_ups_ = 0;
  std::uint64_t link_downs_ = 0;
  bool journal_;
  std::string journal_lost_; // empty: open (or none)
  std::ostream* out_ = nullptr;
};

/// Spawns the actor that keeps `r` current: it subscribes to the registry
/// link (if `link` is set) and monitors the journal writer (if `journal` is
/// set). Stop it with an exit message at shutdown.
caf::actor spawn_readiness_watch(caf::actor_system& sys,
                                 std::shared_ptr<readiness> r, caf::actor link,
                                 caf::actor journal);

} // namespace chanstate
