// What every in-process scenario shares: the measured node (registry,
// pubsub, routes, optional journal), waiting on latches with a phase
// timeout, and the small conversions of the JSON figures.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/registry/backup_table.hpp>
#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/registry/registry_config.hpp>
#include "test/bench/bench_util.hpp"

// Its own namespace: names as short as `node`, `event` or `ms` are also
// taken, file-locally, by other scenarios of the same program.
namespace chanstate::bench::in_process {

/// Two minutes, or 1 ms per arrival for big runs: a million joins on a
/// shared 2-core machine take minutes, and a phase that is only slow must
/// still end in its figure.
inline std::chrono::milliseconds phase_timeout(std::size_t arrivals) {
  return std::max(std::chrono::milliseconds{120'000},
                  std::chrono::milliseconds{arrivals});
}

/// Fails the run loudly; the caller prints the reason and exits non-zero.
struct bench_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Waits for every arrival at `l`; throws bench_failure naming `what` if
/// the phase times out.
void await(latch& l, const char* what);

/// Registry, pubsub and routes of one measured system.
struct node {
  std::shared_ptr<backup_table> table;
  channel_env env;

  caf::actor journal;  // the journal writer, with --journal
  std::shared_ptr<journal_waiter> journal_sync;
  std::string journal_dir;

  /// A journal at `journal_at` (emptied first) if it is not empty.
  node(caf::actor_system& sys, bool write_through, bool with_pubsub,
       std::size_t max_backups, const std::string& journal_at = {},
       std::chrono::milliseconds pack_after = registry_config{}.pack_after);

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  ~node();

  /// Returns once everything committed so far is in the journal.
  void journal_barrier(caf::actor_system& sys) const;

  /// Registry stats, polled only outside measured phases.
  boost::json::object stats(caf::actor_system& sys) const;

  /// Waits until the registry tracks `live` channels and holds `backups`.
  void await_table(caf::actor_system& sys, std::size_t live,
                   std::size_t backups) const;
};

/// --pubsub (default 1): whether the node runs a pubsub actor.
inline bool with_pubsub(const options& opts) {
  return opts.num("pubsub", 1) != 0;
}

/// A client event as a transport hands it to a channel.
inline client_event event(std::string ref, std::string name,
                          boost::json::object payload) {
  return client_event{std::move(ref), std::move(name), {std::move(payload)}};
}

/// Microseconds as milliseconds, for the JSON figures.
inline double ms(std::int64_t us) {
  return static_cast<double>(us) / 1000.0;
}

/// A rate or a size as a whole number, for the JSON figures.
inline std::int64_t rounded(double x) {
  return static_cast<std::int64_t>(x + 0.5);
}

} // namespace chanstate::bench::in_process
