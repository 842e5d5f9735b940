// chanstate-bench: one scenario per run, one JSON line on stdout.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "app/allocator.hpp"
#include "test/bench/bench_util.hpp"
#include "test/bench/in_process.hpp"
#include "test/bench/scale.hpp"
#include "test/bench/soak.hpp"
#include "test/bench/ws_load.hpp"
#include "test/bench/ws_hold.hpp"

namespace {

namespace json = boost::json;
using chanstate::bench::options;

constexpr const char* usage = R"(usage: chanstate-bench SCENARIO [--flag=value ...]

Prints exactly one JSON object on one line on stdout; progress on stderr.

Scenarios (defaults in brackets):
  steady  --channels=N [1000] --events=M [1000] [--every=K [10]] [--rounds=R [1]]
          each channel gets M `add` events, after every K-th a `get` is
          awaited; run with write-through ON and OFF in the same process.
          --channel=bench [demo]: events replace one integer instead of
          growing the demo's list (isolates the per-event framework cost).
          --journal=DIR: also a run with the LMDB journal in DIR (a fresh
          subdirectory per run, removed after), timed until the journal
          caught up -> events_per_s_journal, ratio_journal_on,
          get_p50_ms_journal, get_p99_ms_journal (get round trips)
          --ack=durable|async|both [durable]: the journal run's
          acknowledgements; both = one of each per round (A/B)
          -> events_per_s_journal_async, ratio_durable_async
          -> events_per_s_on, events_per_s_off, ratio_on_off
  recover --channels=N [10000] --payload=list100|bin1k [list100]
          N channels holding the payload crash at once (`oopsy`); each client
          rejoins and checks a `get`.
          -> recoveries_per_s, p50_ms, p99_ms (crash -> correct reply), lost, stale
  kill    --channels=N [10000] [--after-crash] [--payload=list100|bin1k]
          as recover, but the channels get exit_reason::kill; --after-crash
          kills channels restored from an earlier crash and changed since.
          -> lost, stale, recoveries_per_s (and the latencies)
  memory  --backups=N [100000] --payload=list100|bin1k [list100]
          [--pack-after-ms=MS [2000]]
          -> bytes_per_backup, heap_bytes_per_backup (RSS / heap delta / N
             after a settle, once the sweep packed every backup;
             --pack-after-ms=0: never packed, the hot form),
             bytes_per_channel (N idle live channels, RSS delta / N),
             restore_all_ms (min(N, 10000) joins restoring at once)
          --idle-only: stop after the idle channels, with them alive (for a
             heap profiler: what is left at exit is what they hold)
  scale   --channels=N [1000000] [--transports=K [64]]
          N channels (bench channel, one integer each) joined by K client
          transports, all crashed at once (`oopsy`); every client rejoins
          and checks its state with a `get`.
          -> restored_ok, lost, stale, join_s, restore_all_s, peak_rss_mb
  ws      --url=ws://HOST:PORT/socket --clients=C [50] --requests=R [2000]
          [--adds=A [3]] [--crash] [--threads=T [1]]
          Phoenix v2 load generator (Beast): C sockets with distinct client
          ids join room:<i>, send A adds, then R sequential `get` round trips.
          --crash: each client crashes its channel once (`oopsy`), rejoins
          and checks its state.
          -> round_trips_per_s, p50_ms, p99_ms, errors (+ recoveries_per_s, lost)
  ws-hold --url=ws://HOST:PORT/socket --clients=C [1000] --seconds=S [30]
          [--heartbeat-ms=H [30000]] [--get-rate=G [200]] [--procs=K [1]]
          [--node-pid=PID] [--connect-concurrency=N [256]]
          [--timeout-ms=M [30000]]
          C Phoenix clients (own client id, one channel each) connect and
          join, then are held S seconds: each sends a heartbeat every H ms,
          and G `get`s a second over all clients are timed. K generator
          processes share the clients (a process may open only ulimit -n
          descriptors). With PID: the node's RSS before, once all are held,
          and its peak.
          -> held, heartbeats_ok, get_p99_ms, rss_per_client_kb,
             rss_for_50000_mb, generator_cpu_pct
  soak    --url=ws://HOST:PORT/socket --clients=C [10000] --seconds=S [300]
          [--node-pid=PID] [--rate=E [4000]] [--storm-every-ms=M [15000]]
          [--crash-pct=P [50]] [--drop-pct=P [5]] [--leave-pct=P [5]]
          [--max-ns=N [16]] [--topics=T [100]] [--timeout-ms=M [30000]]
          [--connect-concurrency=N [256]] [--max-errors=N [0]]
          [--max-rss-growth-pct=P [unchecked]] [--seed=N [1]]
          [--chaos [--node-pid-file=F] [--crash-burst=K [4]]]
          C Phoenix clients (one socket, one channel, own client id, own
          values) for S seconds: E adds/gets per second in all; every M ms
          a storm (P% crash with `oopsy`, drop the TCP connection without a
          close frame, or leave cleanly, at once; then all rejoin) followed
          by a `get` check of every client against its model; a client
          leaves cleanly once its list reaches a random length up to N.
          VmRSS of PID once a second. Exit 1 unless lost, stale, leaked and
          mismatched are 0, errors <= max-errors and the node is alive.
          -> lost, stale, leaked, peak_rss_mb, rss_growth_pct (mean of the
             last quarter of the samples vs the second quarter), errors, …
          --chaos (soak.sh with SOAK_CHAOS=1 drives it): the node is
          SIGKILLed and restarted on its port (SIGUSR1 before each kill,
          SIGUSR2 once back, its pid in F); clients reconnect with Phoenix's
          back-off; crashing clients crash K times in a row, one add
          between crashes, without staying clear of the guards.
          -> also node_kills; lost/stale/... count acknowledged values only

In-process scenarios also take:
  --warmup=0|1 [1]       a small unreported run first
  --pubsub=0|1 [1]       channels subscribe to pubsub on join, as in the node
  --scheduler.max-threads=N [2]  --scheduler.policy=stealing|sharing
                         [stealing; sharing for recover, kill and scale]
  (any other --scheduler.* / --work-stealing.* option goes to CAF)
)";

/// The flags each scenario understands; anything else is a typo to report.
const std::map<std::string, std::set<std::string>> known_flags = {
  {"steady",
   {"channels", "events", "every", "rounds", "channel", "warmup", "pubsub",
    "journal", "ack"}},
  {"recover", {"channels", "payload", "warmup", "pubsub"}},
  {"kill", {"channels", "payload", "after-crash", "warmup", "pubsub"}},
  {"memory", {"backups", "payload", "pubsub", "pack-after-ms", "idle-only"}},
  {"scale", {"channels", "transports", "pubsub"}},
  {"ws", {"url", "clients", "requests", "adds", "threads", "crash"}},
  {"ws-hold",
   {"url", "clients", "seconds", "heartbeat-ms", "get-rate", "procs",
    "node-pid", "connect-concurrency", "timeout-ms", "first-client",
    "samples-file", "child"}},
  {"soak",
   {"url", "clients", "seconds", "node-pid", "rate", "storm-every-ms",
    "crash-pct", "drop-pct", "leave-pct", "max-ns", "topics", "timeout-ms",
    "connect-concurrency", "max-errors", "max-rss-growth-pct", "seed",
    "chaos",
    "node-pid-file", "crash-burst"}},
};

bool is_caf_option(const std::string& arg) {
  auto eq = arg.find('=');
  auto name = arg.substr(0, eq);
  return name.rfind("--", 0) == 0 && name.find('.') != std::string::npos;
}

void print(json::object obj) {
  std::cout << json::serialize(obj) << std::endl;
}

int fail(const std::string& scenario, const std::string& why) {
  std::cerr << "chanstate-bench: " << why << '\n';
  print({{"scenario", scenario}, {"error", why}});
  return 1;
}

json::object scheduler_fields(caf::actor_system& sys) {
  auto policy = caf::get_or(sys.config(), "scheduler.policy",
                            caf::atom("stealing"));
  return {{"max_threads", sys.scheduler().num_workers()},
          {"policy", caf::to_string(policy)}};
}

int run_in_process(const std::string& scenario, const options& opts,
                   const std::vector<std::string>& caf_args) {
  caf::actor_system_config cfg;
  // Two cores: more workers than cores only adds wake-up latency (each idle
  // worker polls and is woken per job). --scheduler.max-threads overrides it.
  cfg.set("scheduler.max-threads", 2);
  // CAF 0.17's work stealing steals with an O(queue length) walk under both
  // of the victim's locks; a million-actor burst queues that many jobs on
  // one worker and the workers stall on each other (README, "A million
  // channels"). The shared queue is O(1) per job. A crash storm is such a
  // burst too: recover and kill use 30% less CPU per recovery with it
  // (README, "Crash recovery"). steady and the node keep work stealing,
  // which answers single requests faster.
  if (scenario == "scale" || scenario == "recover" || scenario == "kill")
    cfg.set("scheduler.policy", caf::atom("sharing"));
  if (auto err = cfg.parse(caf_args)) {
    return fail(scenario, "bad CAF option: "
                            + caf::actor_system_config::render(err));
  }
  json::object out;
  try {
    caf::actor_system sys{cfg};
    auto sched = scheduler_fields(sys);
    std::cerr << scenario << ": scheduler " << sched["policy"].as_string()
              << ", " << sched["max_threads"] << " workers\n";
    if (scenario == "steady")
      out = chanstate::bench::run_steady(sys, opts);
    else if (scenario == "recover")
      out = chanstate::bench::run_recover(sys, opts);
    else if (scenario == "kill")
      out = chanstate::bench::run_kill(sys, opts);
    else if (scenario == "scale")
      out = chanstate::bench::run_scale(sys, opts);
    else
      out = chanstate::bench::run_memory(sys, opts);
    out["scheduler"] = std::move(sched);
    out["allocator"] = chanstate::allocator_name();
  } catch (const std::exception& e) {
    // Actors are still running and ~actor_system would wait for them
    // forever: report and leave at once.
    fail(scenario, e.what());
    std::cout.flush();
    std::_Exit(1);
  }
  print(std::move(out));
  return 0;
}

int run_ws(const options& opts) {
  chanstate::bench::ws_options o;
  o.url = opts.str("url", "");
  o.clients = opts.int_num("clients", 50);
  o.requests = opts.int_num("requests", 2000);
  o.adds = opts.int_num("adds", 3);
  o.threads = opts.int_num("threads", 1);
  o.crash = opts.flag("crash");
  if (o.url.empty())
    return fail("ws", "ws needs --url=ws://HOST:PORT/socket");
  if (o.clients < 1 || o.threads < 1)
    return fail("ws", "--clients and --threads must be at least 1");
  auto r = chanstate::bench::run_ws(o);
  json::object out{
    {"scenario", "ws"},
    {"url", o.url},
    {"clients", o.clients},
    {"requests", o.requests},
    {"adds", o.adds},
    {"crash", o.crash},
    {"threads", o.threads},
    {"round_trips_per_s", r.round_trips_per_s},
    {"p50_ms", r.p50_ms},
    {"p99_ms", r.p99_ms},
    {"max_ms", r.max_ms},
    {"errors", r.errors},
    {"client_cpu_pct", r.client_cpu_pct},
    {"client_cpu_us_per_rt", r.client_cpu_us_per_rt},
    {"other_cpu_pct", r.other_cpu_pct},
  };
  if (o.crash) {
    out["recoveries_per_s"] = r.recoveries_per_s;
    out["recover_p50_ms"] = r.recover_p50_ms;
    out["recover_p99_ms"] = r.recover_p99_ms;
    out["lost"] = r.lost;
    out["stale"] = r.stale;
  }
  if (!r.first_error.empty())
    out["first_error"] = r.first_error;
  print(std::move(out));
  return r.errors == 0 ? 0 : 1;
}

int run_ws_hold(const options& opts) {
  chanstate::bench::ws_hold_options o;
  o.url = opts.str("url", "");
  o.clients = opts.int_num("clients", o.clients);
  o.seconds = opts.int_num("seconds", o.seconds);
  o.heartbeat_ms = opts.int_num("heartbeat-ms", o.heartbeat_ms);
  o.get_rate = opts.int_num("get-rate", o.get_rate);
  o.procs = opts.int_num("procs", o.procs);
  o.node_pid = opts.int_num("node-pid", 0);
  o.connect_concurrency =
    opts.int_num("connect-concurrency", o.connect_concurrency);
  o.timeout_ms = opts.int_num("timeout-ms", o.timeout_ms);
  o.first_client = opts.int_num("first-client", 0);
  o.samples_file = opts.str("samples-file", "");
  o.child = opts.flag("child");
  if (o.url.empty())
    return fail("ws-hold", "ws-hold needs --url=ws://HOST:PORT/socket");
  if (o.clients < 1 || o.procs < 1 || o.heartbeat_ms < 1 || o.get_rate < 0
      || o.seconds < 0 || o.connect_concurrency < 1)
    return fail("ws-hold", "--clients, --procs, --heartbeat-ms and "
                           "--connect-concurrency must be at least 1");
  bool ok = false;
  print(chanstate::bench::run_ws_hold(o, ok));
  return ok ? 0 : 1;
}

int run_soak(const options& opts) {
  chanstate::bench::soak_options o;
  o.url = opts.str("url", "");
  o.clients = opts.int_num("clients", o.clients);
  o.seconds = opts.int_num("seconds", o.seconds);
  o.node_pid = opts.int_num("node-pid", 0);
  o.rate = opts.int_num("rate", o.rate);
  o.storm_every_ms = opts.int_num("storm-every-ms", o.storm_every_ms);
  o.crash_pct = opts.int_num("crash-pct", o.crash_pct);
  o.drop_pct = opts.int_num("drop-pct", o.drop_pct);
  o.leave_pct = opts.int_num("leave-pct", o.leave_pct);
  o.max_ns = opts.int_num("max-ns", o.max_ns);
  o.topics = opts.int_num("topics", o.topics);
  o.timeout_ms = opts.int_num("timeout-ms", o.timeout_ms);
  o.connect_concurrency =
    opts.int_num("connect-concurrency", o.connect_concurrency);
  o.max_errors = opts.num("max-errors", o.max_errors);
  if (opts.has("max-rss-growth-pct"))
    o.max_rss_growth_pct = static_cast<double>(
      opts.num("max-rss-growth-pct", 0));
  o.seed = static_cast<std::uint64_t>(opts.num("seed", 1));
  o.chaos = opts.flag("chaos");
  o.node_pid_file = opts.str("node-pid-file", "");
  o.crash_burst = opts.int_num("crash-burst", o.chaos ? 4 : 1);
  o.avoid_guards = !o.chaos;
  if (o.crash_burst < 1)
    return fail("soak", "--crash-burst must be at least 1");
  if (o.url.empty())
    return fail("soak", "soak needs --url=ws://HOST:PORT/socket");
  if (o.clients < 1 || o.rate < 1 || o.topics < 1 || o.max_ns < 1
      || o.connect_concurrency < 1 || o.storm_every_ms < 1)
    return fail("soak", "--clients, --rate, --topics, --max-ns, "
                        "--connect-concurrency and --storm-every-ms must be "
                        "at least 1");
  if (o.crash_pct + o.drop_pct + o.leave_pct > 100)
    return fail("soak", "--crash-pct + --drop-pct + --leave-pct must not "
                        "pass 100");
  auto r = chanstate::bench::run_soak(o);
  std::cout << chanstate::bench::soak_line(r.report) << std::endl;
  return r.ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  chanstate::apply_allocator_defaults();
  if (argc < 2 || std::string{argv[1]} == "--help"
      || std::string{argv[1]} == "-h" || std::string{argv[1]} == "help") {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  std::string scenario = argv[1];
  std::vector<std::string> caf_args;
  std::vector<char*> ours{argv[0]};
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      return 0;
    }
    if (is_caf_option(a))
      caf_args.push_back(a);
    else
      ours.push_back(argv[i]);
  }
  try {
    options opts{static_cast<int>(ours.size()), ours.data(), 1};
    auto known = known_flags.find(scenario);
    if (known == known_flags.end()) {
      std::cerr << usage;
      return fail(scenario, "unknown scenario " + scenario);
    }
    for (const auto& name : opts.names())
      if (!known->second.count(name))
        return fail(scenario, "unknown flag for " + scenario + ": " + name);
    int rc = 0;
    if (scenario == "ws" || scenario == "soak" || scenario == "ws-hold") {
      if (!caf_args.empty())
        return fail(scenario, scenario + " takes no CAF options");
      rc = scenario == "ws"        ? run_ws(opts)
           : scenario == "ws-hold" ? run_ws_hold(opts)
                                   : run_soak(opts);
    } else {
      rc = run_in_process(scenario, opts, caf_args);
    }
    return rc;
  } catch (const std::exception& e) {
    // Actors may still be running: leave without waiting for them.
    std::cerr << "chanstate-bench: " << e.what() << '\n';
    std::cout << json::serialize(json::object{{"scenario", scenario},
                                              {"error", e.what()}})
              << std::endl;
    std::_Exit(1);
  }
}
