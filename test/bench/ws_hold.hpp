// The ws-hold scenario: many idle-ish WebSocket clients held by one node,
// heartbeats answered, a trickle of `get`s timed, the node's RSS per
// connection. Plain types only (the Beast side is ws_pool.cpp).
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>

namespace chanstate::bench {

struct ws_hold_options {
  std::string url; // ws://HOST:PORT/socket
  int clients = 1000;
  /// How long every client is held once all of them joined.
  int seconds = 30;
  /// Each client's heartbeat period (phoenix.js: 30 000 ms).
  int heartbeat_ms = 30000;
  /// `get`s per second over all clients, each timed to its reply.
  int get_rate = 200;
  /// Generator processes: a process may open only so many descriptors
  /// (ulimit -n), so the clients are spread over this many children.
  int procs = 1;
  int node_pid = 0; // for the RSS figures
  int connect_concurrency = 256;
  /// A reply later than this is an error.
  int timeout_ms = 30000;
  // Set by a parent for its children.
  int first_client = 0;
  std::string samples_file;
  bool child = false;
};

/// Runs the scenario; the JSON line. Network trouble is counted, not thrown.
/// `ok` is false unless every client joined and was held, and every
/// heartbeat and get was answered in time.
boost::json::object run_ws_hold(const ws_hold_options& o, bool& ok);

} // namespace chanstate::bench
