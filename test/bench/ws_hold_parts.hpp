// The parts of the ws-hold scenario: the clients of one process
// (ws_hold_clients.cpp) and the children that share the clients out when
// one process may not open enough descriptors (ws_hold_children.cpp);
// ws_hold.cpp runs either and writes the figures.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "test/bench/soak.hpp"
#include "test/bench/ws_hold.hpp"

namespace chanstate::bench::ws_hold_detail {

/// The node's VmRSS in KiB; -1 without a pid or if it cannot be read.
inline std::int64_t node_rss_kb(int pid) {
  if (pid <= 0)
    return -1;
  auto p = probe_rss(pid);
  return p.state == rss_probe::ok ? p.kb : -1;
}

/// An integer field of a report, 0 if it is missing or not an integer.
inline std::int64_t num(const boost::json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : 0;
}

/// What the clients of one run did, and their reply latencies (µs).
struct hold_result {
  /// Counts as in the scenario's JSON line; with several processes, the
  /// node_* RSS figures are the parent's (node_rss_held_kb,
  /// node_peak_rss_kb).
  boost::json::object report;
  std::vector<std::int64_t> get_us;
  std::vector<std::int64_t> heartbeat_us;
};

/// Holds `o.clients` clients in this process for the whole run.
hold_result hold_here(const ws_hold_options& o);

/// Spreads the clients over `o.procs` children of this program and merges
/// what they report; the node's RSS is sampled here while they run.
hold_result hold_in_children(const ws_hold_options& o);

/// A child's latency samples, for its parent (one "g US" or "h US" a line).
void write_samples(const std::string& path, const hold_result& h);

} // namespace chanstate::bench::ws_hold_detail
