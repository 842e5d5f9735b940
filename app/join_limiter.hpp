// Joins per second per client: a token bucket for each client id, shared by
// every connection of the node, so that a rejoin storm (a client that
// reconnects and rejoins in a loop) gets a retry hint instead of hammering
// the registry with restores.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace chanstate {

/// The token bucket's size and refill rate (--join-burst, --join-rate).
struct join_rate_options {
  /// Sustained joins per second one client id may make; 0 turns the
  /// limit off.
  double per_second = 20;
  /// Joins one client id may make at once. A reconnecting client rejoins
  /// all its channels together: twice the default channels per socket
  /// lets it do that and then still join, leave and rejoin freely.
  std::size_t burst = 200;
};

/// The verdict on one join.
struct join_admission {
  bool allowed = true;
  /// When refused: how long until the next join of this client would pass.
  std::chrono::milliseconds retry_after{0};
};

/// Thread-safe; memory stays bounded by the clients active within the last
/// `burst / per_second` seconds (idle clients' buckets are full, so they
/// are dropped by an amortized sweep).
class join_limiter {
public:
  /// The clock buckets refill by.
  using clock = std::chrono::steady_clock;

  /// A limiter with no buckets yet: every client starts with `burst` joins.
  explicit join_limiter(join_rate_options opts);

  /// Takes one join from `client_id`'s bucket (refilled at `per_second`
  /// since its last join), or refuses with the wait until the next one
  /// would pass. Always allowed when `per_second` is 0.
  join_admission admit(const std::string& client_id,
                       clock::time_point now = clock::now());

  /// Clients with a bucket right now (what the sweep bounds).
  std::size_t tracked_clients() const;

private:
  struct bucket {
    double tokens;
    clock::time_point last;
  };

  double refill(bucket& b, clock::time_point now) const;
  void sweep(clock::time_point now);

  join_rate_options opts_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, bucket> buckets_;
  std::size_t next_sweep_ = 1024;
};

} // namespace chanstate
