// The ws scenario's interface: plain types only, so that only ws_load.cpp
// and the session it runs pay for Beast.
#pragma once

#include <cstdint>
#include <string>

namespace chanstate::bench {

struct ws_options {
  std::string url; // ws://HOST:PORT/socket (…/websocket is appended)
  int clients = 50;
  int requests = 2000;
  int adds = 3;
  int threads = 1;
  bool crash = false;
};

struct ws_result {
  std::int64_t round_trips_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::int64_t errors = 0;
  std::string first_error;
  /// CPU this process used during the get phase, in % of one core.
  double client_cpu_pct = 0;
  /// The same CPU per get round trip, in µs.
  double client_cpu_us_per_rt = 0;
  double other_cpu_pct = 0;
  // --crash only
  std::int64_t recoveries_per_s = 0;
  double recover_p50_ms = 0;
  double recover_p99_ms = 0;
  std::int64_t lost = 0;
  std::int64_t stale = 0;
};

/// Runs the Phoenix v2 load against `o.url`; never throws for network errors
/// (they are counted in `errors`).
ws_result run_ws(const ws_options& o);

} // namespace chanstate::bench
