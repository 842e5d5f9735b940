// ws-hold: C clients connect and join one channel each, then are held for
// S seconds while each sends phoenix.js's heartbeat every H ms and a few
// `get`s a second (over all clients) are timed. The node's RSS is sampled
// before, once every client is held, and during the hold, so the memory
// per connection can be stated. A process may open only so many
// descriptors (ulimit -n), so --procs=K runs K copies of this program as
// children, each holding its share, and merges their figures.
#include "test/bench/ws_hold.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "test/bench/bench_util.hpp"
#include "test/bench/ws_hold_parts.hpp"

namespace chanstate::bench {

namespace {

namespace json = boost::json;
using namespace ws_hold_detail;

double to_ms(std::int64_t us) {
  return static_cast<double>(us) / 1000.0;
}

double mb(std::int64_t kb) {
  return static_cast<double>(kb) / 1024.0;
}

// As many descriptors as the hard limit allows; what that is.
std::int64_t raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0)
    return -1;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
    ::getrlimit(RLIMIT_NOFILE, &r);
  }
  return static_cast<std::int64_t>(r.rlim_cur);
}

} // namespace

json::object run_ws_hold(const ws_hold_options& o, bool& ok) {
  auto fd_limit = raise_fd_limit();
  std::int64_t base_kb = node_rss_kb(o.node_pid);
  double cpu0 = cpu_seconds();
  auto t0 = now_us();
  hold_result h;
  if (o.procs <= 1) {
    h = hold_here(o);
    if (o.child) {
      write_samples(o.samples_file, h);
      return std::move(h.report);
    }
  } else {
    h = hold_in_children(o);
  }
  auto& r = h.report;
  auto& gets = h.get_us;
  auto& hbs = h.heartbeat_us;
  auto held_kb = num(r, "node_rss_held_kb");
  auto peak_kb = num(r, "node_peak_rss_kb");
  auto wall_s = static_cast<double>(now_us() - t0) / 1e6;
  rusage ru{};
  ::getrusage(RUSAGE_CHILDREN, &ru);
  auto child_cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
                   + static_cast<double>(ru.ru_utime.tv_usec
                                         + ru.ru_stime.tv_usec)
                       / 1e6;
  std::sort(gets.begin(), gets.end());
  std::sort(hbs.begin(), hbs.end());
  json::object out{{"scenario", "ws-hold"},
                   {"url", o.url},
                   {"procs", o.procs},
                   {"fd_limit_per_process", fd_limit},
                   {"seconds", o.seconds},
                   {"heartbeat_ms", o.heartbeat_ms},
                   {"get_rate", o.get_rate}};
  for (auto& kv : r)
    if (kv.key().rfind("node_", 0) != 0)
      out[kv.key()] = kv.value();
  out["get_p50_ms"] = to_ms(percentile(gets, 50));
  out["get_p99_ms"] = to_ms(percentile(gets, 99));
  out["get_max_ms"] = gets.empty() ? 0.0 : to_ms(gets.back());
  out["heartbeat_p99_ms"] = to_ms(percentile(hbs, 99));
  out["generator_cpu_pct"]
    = (cpu_seconds() - cpu0 + child_cpu) * 100 / std::max(wall_s, 1e-6);
  auto held = num(out, "held");
  if (o.node_pid > 0) {
    out["node_rss_base_mb"] = mb(base_kb);
    out["node_rss_held_mb"] = mb(held_kb);
    out["node_peak_rss_mb"] = mb(peak_kb);
    if (held > 0 && base_kb >= 0 && held_kb >= 0) {
      auto per = static_cast<double>(held_kb - base_kb)
                 / static_cast<double>(held);
      out["rss_per_client_kb"] = per;
      // On paper: the same node holding 50 000 clients.
      out["rss_for_50000_mb"] = mb(base_kb) + per * 50000 / 1024;
    }
  }
  ok = held == o.clients && num(out, "held_at_end") == o.clients
       && num(out, "errors") == 0
       && num(out, "heartbeats_ok") == num(out, "heartbeats")
       && num(out, "gets_ok") == num(out, "gets");
  out["ok"] = ok;
  return out;
}

} // namespace chanstate::bench
