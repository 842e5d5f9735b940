// The recover and kill scenarios: every channel holds its payload, all
// crash (recover) or are killed (kill, optionally after an earlier crash)
// at once, and every client rejoins and checks what was restored; the
// figures are the storm's recoveries/s, latencies and what was lost.
#include "test/bench/in_process.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "test/bench/in_process_common.hpp"
#include "test/bench/perf_window.hpp"
#include "test/bench/recovery_client.hpp"

namespace chanstate::bench {

using namespace in_process;

namespace {

namespace json = boost::json;

struct recovery_figures {
  std::size_t n = 0;
  double recoveries_per_s = 0;
  std::int64_t p50_us = 0, p99_us = 0, max_us = 0;
  std::int64_t down_p50_us = 0, rejoin_p50_us = 0, get_p50_us = 0;
  std::int64_t trigger_us = 0;
  double cpu_s = 0; // process CPU from the trigger to the last recovery
  std::size_t ok = 0, lost = 0, stale = 0, other = 0, bad = 0;
};

recovery_figures recovery_once(caf::actor_system& sys, std::size_t n,
                               const std::string& payload, trigger how,
                               bool after_crash, bool pubsub,
                               const std::string& tag) {
  node nd{sys, true, pubsub, n};
  auto run = std::make_shared<recovery_run>(n);
  run->env = nd.env;
  run->payload = payload;
  run->prefix = "bench:" + tag + ":";
  run->after_crash = after_crash;
  auto clients = arm_clients(sys, run, n);
  perf_window window{tag == "m"};
  auto cpu0 = cpu_seconds();
  fire(*run, how);
  auto fired = now_us();
  await(run->done, "recoveries");
  recovery_figures out;
  out.cpu_s = cpu_seconds() - cpu0;
  window.close();
  out.n = n;
  out.trigger_us = fired - run->t0.load();
  for (auto& c : clients)
    caf::anon_send(c, caf::leave_atom::value);
  await(run->gone, "leaves");
  clients.clear();
  run->channels.clear();
  nd.await_table(sys, 0, 0);
  std::vector<std::int64_t> total, down, join, get;
  for (const auto& s : run->samples) {
    total.push_back(s.total_us);
    down.push_back(s.down_us);
    join.push_back(s.rejoin_us);
    get.push_back(s.get_us);
    switch (s.result) {
      case outcome::ok:
        ++out.ok;
        break;
      case outcome::lost:
        ++out.lost;
        break;
      case outcome::stale:
        ++out.stale;
        break;
      default:
        ++out.other;
    }
  }
  for (auto* v : {&total, &down, &join, &get})
    std::sort(v->begin(), v->end());
  out.max_us = total.empty() ? 0 : total.back();
  out.recoveries_per_s = static_cast<double>(n) * 1e6
                         / static_cast<double>(std::max<std::int64_t>(
                           out.max_us, 1));
  out.p50_us = percentile(total, 50);
  out.p99_us = percentile(total, 99);
  out.down_p50_us = percentile(down, 50);
  out.rejoin_p50_us = percentile(join, 50);
  out.get_p50_us = percentile(get, 50);
  out.bad = run->bad.load();
  return out;
}

json::object recovery_json(const recovery_figures& f) {
  return {
    {"recoveries_per_s", rounded(f.recoveries_per_s)},
    {"p50_ms", ms(f.p50_us)},
    {"p99_ms", ms(f.p99_us)},
    {"max_ms", ms(f.max_us)},
    {"down_p50_ms", ms(f.down_p50_us)},
    {"rejoin_p50_ms", ms(f.rejoin_p50_us)},
    {"get_p50_ms", ms(f.get_p50_us)},
    {"trigger_ms", ms(f.trigger_us)},
    {"cpu_us_per_recovery",
     rounded(f.cpu_s * 1e6 / static_cast<double>(std::max<std::size_t>(f.n, 1)))},
    {"restored_ok", f.ok},
    {"lost", f.lost},
    {"stale", f.stale},
    {"other", f.other},
    {"errors", f.bad},
  };
}

std::size_t warmup_size(const options& opts, std::size_t n) {
  if (opts.num("warmup", 1) == 0)
    return 0;
  return std::min<std::size_t>(n / 10 + 1, 1000);
}

json::object run_recovery_scenario(caf::actor_system& sys,
                                   const options& opts, const char* name,
                                   trigger how) {
  auto n = static_cast<std::size_t>(opts.num("channels", 10'000));
  auto payload = opts.str("payload", "list100");
  bool after_crash = how == trigger::kill && opts.flag("after-crash");
  bool pubsub = with_pubsub(opts);
  make_payload(payload, 0); // validates --payload before anything runs
  if (auto w = warmup_size(opts, n)) {
    std::cerr << name << ": warm-up with " << w << " channels\n";
    recovery_once(sys, w, payload, how, after_crash, pubsub, "warm");
  }
  std::cerr << name << ": " << n << " channels, payload " << payload
            << (after_crash ? ", killed after an earlier crash" : "") << '\n';
  other_cpu_meter meter;
  auto f = recovery_once(sys, n, payload, how, after_crash, pubsub, "m");
  json::object out{{"scenario", name},
                   {"channels", n},
                   {"payload", payload}};
  if (how == trigger::kill)
    out["after_crash"] = after_crash;
  for (auto& kv : recovery_json(f))
    out.emplace(kv.key(), kv.value());
  out["pubsub"] = pubsub;
  out["other_cpu_pct"] = meter.percent();
  std::cerr << name << ": " << rounded(f.recoveries_per_s)
            << " recoveries/s, p50 " << ms(f.p50_us) << " ms, p99 "
            << ms(f.p99_us) << " ms, lost " << f.lost << ", stale "
            << f.stale << '\n';
  return out;
}
} // namespace

json::object run_recover(caf::actor_system& sys, const options& opts) {
  return run_recovery_scenario(sys, opts, "recover", trigger::crash);
}

json::object run_kill(caf::actor_system& sys, const options& opts) {
  return run_recovery_scenario(sys, opts, "kill", trigger::kill);
}

} // namespace chanstate::bench
