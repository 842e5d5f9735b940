// One simulated phoenix.js client of the soak scenario: its connection's
// state, its model of what the node acknowledged, its part in a storm; and
// the timings all clients share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "test/bench/soak_model.hpp"

namespace chanstate::bench::soak_detail {

constexpr std::int64_t ms = 1000; // in microseconds
constexpr std::int64_t heartbeat_every = 25'000 * ms;
constexpr std::int64_t tick_ms = 100;
constexpr int max_refusals = 10;

enum class action { none, crash, drop, leave };

// Phoenix's default reconnectAfterMs: 10, 50, 100, 150, 200, 250, 500,
// 1000, 2000, then 5000 ms.
inline std::int64_t phoenix_backoff_ms(int tries) {
  static constexpr std::int64_t steps[] = {10, 50, 100, 150, 200,
                                           250, 500, 1000, 2000};
  constexpr int n = sizeof(steps) / sizeof(steps[0]);
  return tries < n ? steps[tries] : 5000;
}

/// One simulated phoenix.js client: one socket, one channel, its model.
struct client {
  enum state {
    down,       // no connection; reconnects at retry_at
    connecting, // TCP + upgrade in flight
    joining,    // phx_join sent
    join_wait,  // join refused with a hint; joins again at retry_at
    ready,      // joined, nothing awaited
    busy,       // joined, waiting for `op` to finish
    closing,    // clean close sent at the end of the run
    closed,
    failed, // gave up (joins refused again and again)
  };
  enum op_kind { op_none, op_get, op_leave, op_crash };

  int index = 0;
  std::string topic;
  std::string query;
  state at = down;
  op_kind op = op_none;
  std::string jr;
  std::string pending_ref;
  std::uint64_t ref = 0;
  std::int64_t deadline = 0;
  std::int64_t next_op = 0;
  std::int64_t last_sent = 0;
  std::int64_t retry_at = 0;
  int refusals = 0;
  bool joined_once = false;
  // Chaos: the node kills seen when this connection was opened, whether
  // the node was down then (until the node sends a frame on it), and the
  // failed reconnects in a row (Phoenix's back-off).
  int epoch = 0;
  bool opened_while_down = false;
  int backoff = 0;

  // The model: what the node acknowledged, what was sent since.
  std::vector<std::int64_t> acked;
  std::vector<std::int64_t> sent;
  std::int64_t seq = 0;
  std::size_t leave_at = 1;
  soak_expect expect = soak_expect::fresh;

  // Storms: the storm this client still owes (0: none), its action, and
  // whether the check `get` is still to be sent.
  std::uint64_t storm = 0;
  action todo = action::none;
  bool check_due = false;
  bool storm_get = false;
  // Crashes still to come in this storm's burst (one add before each).
  int burst_left = 0;
  std::int64_t crashed_at = 0;
};

} // namespace chanstate::bench::soak_detail
