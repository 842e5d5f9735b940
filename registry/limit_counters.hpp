// Node-wide counters of the limits channels enforce themselves.
#pragma once

#include <atomic>
#include <cstdint>

#include <boost/json/object.hpp>

namespace chanstate {

/// Incremented by channel actors on any thread, read by the registry's
/// stats (where /stats shows them as "commits_refused"). One per node: the
/// backup table owns it and channel_env::counters points at it.
struct limit_counters {
  /// One counter, incremented with relaxed atomics.
  using counter = std::atomic<std::uint64_t>;
  /// Commits refused because the new assigns were over max_assigns_bytes.
  counter assigns_too_large{0};

  /// The counters as /stats's "commits_refused" object.
  boost::json::object to_json() const {
    return {
      {"assigns_too_large", assigns_too_large.load(std::memory_order_relaxed)},
    };
  }
};

} // namespace chanstate
