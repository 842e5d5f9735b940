// The soak scenario: thousands of Phoenix clients against one node for a
// bounded time, with crash storms, clean leaves and dropped transports;
// every client's state is checked against its own model after every storm.
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>

namespace chanstate::bench {

struct soak_options {
  std::string url; // ws://HOST:PORT/socket
  int clients = 10000;
  int seconds = 300;
  /// The node's pid, for VmRSS samples; 0 = no memory figures.
  int node_pid = 0;
  /// Steady events per second over all clients (adds and gets).
  int rate = 4000;
  int storm_every_ms = 15000;
  /// Share of the clients that crash / drop their transport / leave in
  /// each storm, in %.
  int crash_pct = 50;
  int drop_pct = 5;
  int leave_pct = 5;
  /// A client leaves cleanly once its list reaches a length drawn from
  /// 1..max_ns, so the node's state stays bounded over the run.
  int max_ns = 16;
  /// Clients share topics: room:soak-<i % topics>.
  int topics = 100;
  int timeout_ms = 30000;
  int connect_concurrency = 256;
  std::int64_t max_errors = 0;
  /// Fails the run when rss_growth_pct passes it; negative = not checked.
  double max_rss_growth_pct = -1;
  std::uint64_t seed = 1;
  /// Chaos (make soak-chaos): the script SIGKILLs the node and restarts it
  /// on the same port, sending this process SIGUSR1 just before each kill
  /// and SIGUSR2 once the new node listens (its pid in node_pid_file).
  /// Connections lost to a kill are expected and reconnect with Phoenix's
  /// back-off; after a kill only what a reply showed counts as
  /// acknowledged. RSS growth is not judged (every restart resets it).
  bool chaos = false;
  std::string node_pid_file;
  /// A crashing client crashes this many times in a row in one storm, with
  /// one add between crashes (every crash follows progress).
  int crash_burst = 1;
  /// A storm's crash comes without an add before it (the client's `get`
  /// after the last storm was its progress); off in chaos, where every
  /// crash of a burst follows an add: a crash after progress must keep the
  /// newest commit.
  bool avoid_guards = true;
};

struct soak_result {
  /// The JSON line: lost, stale, leaked, peak_rss_mb, rss_growth_pct, …
  boost::json::object report;
  /// No lost, stale, leaked or mismatched state, errors within bounds,
  /// the node alive, RSS growth within bounds.
  bool ok = false;
};

/// The VmRSS of a process as this one can see it.
struct rss_probe {
  enum state_t { ok, gone, unreadable } state;
  std::int64_t kb; // with ok
};

/// Reads /proc/PID/status. `unreadable` means this process cannot open a
/// file (its own limit on descriptors), not that `pid` is gone.
rss_probe probe_rss(int pid);

/// True if this process may open no more descriptors (EMFILE/ENFILE).
bool out_of_descriptors();

/// Runs the soak against `o.url`; network trouble is counted, not thrown.
soak_result run_soak(const soak_options& o);

/// The report as one line of JSON, with fractions written as 12.34 rather
/// than Boost.JSON's 1.234E1.
std::string soak_line(const boost::json::object& report);

} // namespace chanstate::bench
