// The clients of the recover, kill and memory scenarios: each joins one
// bench channel, puts its payload and (when the run wants it) rejoins after
// the crash or kill and checks with a `get` what the channel restored.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/join.hpp>
#include "test/bench/bench_util.hpp"

namespace chanstate::bench::in_process {

/// How every channel of a run is taken down at once.
enum class trigger { crash, kill };

/// What a client's `get` after the rejoin found.
enum class outcome : std::uint8_t { pending, ok, stale, lost, other };

/// One client's timings of its recovery, and its outcome.
struct recovery_sample {
  std::int64_t total_us = 0;  // trigger → correct get reply
  std::int64_t down_us = 0;   // trigger → client saw the channel down
  std::int64_t rejoin_us = 0; // down → join reply
  std::int64_t get_us = 0;    // join reply → get reply
  outcome result = outcome::pending;
};

/// The payload client `i` puts: "list100" (100 ints) or "bin1k" (a 1 KiB
/// string); throws std::invalid_argument for any other kind.
boost::json::value make_payload(const std::string& kind, std::int64_t i);

/// What the clients of one run share; each writes only its own slots.
struct recovery_run {
  channel_env env;
  std::string payload;
  std::string prefix;
  bool after_crash = false; // crash once, rejoin, change, then trigger
  bool rejoin = true;       // false: the memory scenario only wants backups
  std::vector<caf::actor> channels; // slot i written by client i before ready
  std::vector<recovery_sample> samples;
  std::atomic<std::int64_t> t0{0};
  latch ready;
  latch done;
  latch gone;
  std::atomic<std::size_t> bad{0};

  explicit recovery_run(std::size_t n)
    : channels(n), samples(n), ready(n), done(n), gone(n) {
  }
};

/// Spawns `n` clients that each put their payload; returns once all are armed.
std::vector<caf::actor> arm_clients(caf::actor_system& sys,
                                    const std::shared_ptr<recovery_run>& run,
                                    std::size_t n);

/// Crashes or kills every armed channel at once; stamps run.t0 first.
void fire(recovery_run& run, trigger how);

} // namespace chanstate::bench::in_process
