// Counters of the WebSocket endpoint, served with the registry's at /stats.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include <chanstate/endpoint/token.hpp>
#include <chanstate/registry/limit_counters.hpp>

namespace chanstate {

/// How a connection ended; each has a counter.
enum class close_cause : std::uint8_t {
  client_close,      // the client sent a close frame: channels end normally
  client_heartbeat,  // phoenix.js closed for a missed heartbeat ack: kept
  idle_timeout,      // no frame from the client within the idle timeout
  connection_lost,   // TCP reset, EOF or write error without a close frame
  too_big,           // a frame over the size limit (close 1009)
  binary_frame,      // binary frames are not supported (close 1003)
  bad_frame,         // not a Phoenix v2 frame (close 1007)
  backpressure,      // the outbound queue passed its limit
  shutdown,          // the node shuts down
};

/// How many close_cause values there are (the size of `closes`).
constexpr std::size_t close_cause_count = 9;

/// The cause as /stats and /metrics name it, e.g. "client_heartbeat_timeout".
const char* to_string(close_cause x);

/// Durations in fixed buckets (Prometheus histogram semantics, counts per
/// bucket, not cumulative); lock-free, observed on Asio threads.
struct latency_histogram {
  /// Upper bounds in seconds; one more bucket holds the rest (+Inf).
  static constexpr double bounds_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,  0.05,  0.1,    0.25,  0.5,
                                        1,      2.5,   5};
  static constexpr std::size_t bucket_count = std::size(bounds_s) + 1;

  /// Observations per bucket (the last one: above every bound).
  std::atomic<std::uint64_t> counts[bucket_count] = {};
  /// The sum of every observation, in nanoseconds.
  std::atomic<std::uint64_t> sum_ns{0};

  /// Counts `d` in its bucket and adds it to the sum (relaxed atomics).
  void observe(std::chrono::nanoseconds d);

  /// {"bounds_s": [...], "counts": [...], "sum_s": x}.
  boost::json::object to_json() const;
};

/// Plain counters; incremented on Asio threads, read by /stats.
struct transport_counters {
  /// One counter, incremented with relaxed atomics.
  using counter = std::atomic<std::uint64_t>;
  counter connections_open{0};
  counter connections_total{0};
  counter upgrades_refused{0}; // 400/403 answers to /socket/websocket
  counter connections_refused{0}; // over the node's limit: close 1013
  counter accept_errors{0};       // accept failed, e.g. out of descriptors
  counter tls_handshakes_failed{0}; // with --tls-cert: no TLS, bad client
  counter joins_rate_limited{0};  // joins refused with a retry hint
  counter joins_over_channel_limit{0}; // joins past --max-channels
  counter frames_in{0};
  counter frames_out{0};
  counter bytes_in{0};
  counter bytes_out{0};
  counter stale_frames_dropped{0};    // client frames with an old join_ref
  counter outbound_frames_dropped{0}; // frames for a closed connection or a
                                      // replaced channel
  counter error_replies{0};           // unmatched topic, bad payload, ...
  counter closes[close_cause_count] = {};
  /// Upgrades refused for their token, by reason (auth_failure - 1).
  counter auth_failures[auth_failure_count] = {};

  /// Counts one upgrade refused for `f`.
  void count_auth_failure(auth_failure f) {
    auth_failures[static_cast<std::size_t>(f) - 1].fetch_add(
      1, std::memory_order_relaxed);
  }
  /// Join frame → join reply, for joins that restored a saved state.
  latency_histogram restore_latency;

  /// Counts one connection closed for `c`.
  void count_close(close_cause c) {
    closes[static_cast<std::size_t>(c)].fetch_add(1,
                                                  std::memory_order_relaxed);
  }

  /// The counters as /stats's "transport" object (closes by cause, the
  /// restore latency histogram; auth failures go elsewhere).
  boost::json::object to_json() const;
};

class readiness;

/// The /stats document: the registry's JSON object plus "transport" and
/// "auth_failures" (one counter per auth_failure, by its name), and
/// "registry_link" with a remote registry (`ready`, if given).
/// A registry that did not answer shows as {"registry_error": why}.
/// `commits_refused` counts this node's channels: with a registry on
/// another node, the registry's own figure is about that node's channels.
std::string stats_document(std::string_view registry_json,
                           const transport_counters& counters,
                           const limit_counters* commits_refused,
                           const readiness* ready = nullptr);

} // namespace chanstate
