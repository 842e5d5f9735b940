// The ws scenario: every client joins, runs its gets (and with --crash a
// crash and a checked rejoin), closes; phases end at barriers, figures
// come from the sessions' samples.
#include "test/bench/ws_load.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "test/bench/bench_util.hpp"
#include "test/bench/ws_load_session.hpp"

namespace chanstate::bench {

namespace ws_detail {

void ws_run::arrive(int b) {
  auto n = arrived[b].fetch_add(1) + 1;
  if (n != opts.clients)
    return;
  auto t = now_us();
  phase_end[b].store(t);
  int next = b + 1;
  if (next == b_crash && !opts.crash)
    ++next;
  if (next >= b_count)
    return;
  if (next == b_gets)
    cpu_at_gets = cpu_seconds();
  if (b == b_gets)
    cpu_after_gets = cpu_seconds();
  std::cerr << "ws: phase " << b << " done, starting " << next << '\n';
  phase_start[next].store(now_us());
  for (auto& s : sessions)
    net::post(s->get_executor(), [s, next] { s->start_phase(next); });
}

} // namespace ws_detail

using namespace ws_detail;

namespace {

double to_ms(std::int64_t us) {
  return static_cast<double>(us) / 1000.0;
}

} // namespace

ws_result run_ws(const ws_options& o) {
  ws_result out;
  ws_run run;
  run.opts = o;
  try {
    run.url = parse_url(o.url);
  } catch (const std::exception& e) {
    out.errors = 1;
    out.first_error = e.what();
    return out;
  }
  // One io_context per thread, each run by its thread alone (no strands);
  // the sessions are dealt out round robin.
  std::vector<std::unique_ptr<net::io_context>> iocs;
  for (int i = 0; i < o.threads; ++i)
    iocs.push_back(std::make_unique<net::io_context>(1));
  auto& ioc = *iocs.front();
  {
    tcp::resolver resolver{ioc};
    beast::error_code ec;
    run.endpoints = resolver.resolve(run.url.host, run.url.port, ec);
    if (ec) {
      out.errors = 1;
      out.first_error = "resolve " + run.url.host + ": " + ec.message();
      return out;
    }
  }
  run.id_prefix = "bench-" + std::to_string(getpid()) + "-"
                  + std::to_string(now_us() % 1'000'000'000) + "-";
  for (int i = 0; i < o.clients; ++i)
    run.sessions.push_back(std::make_shared<session>(
      *iocs[static_cast<std::size_t>(i % o.threads)], run, i));
  std::cerr << "ws: " << o.clients << " clients to " << o.url << ", "
            << o.requests << " gets each" << (o.crash ? ", then a crash" : "")
            << '\n';
  other_cpu_meter meter;
  run.phase_start[b_ready].store(now_us());
  for (auto& s : run.sessions)
    s->start();
  // Bounded: a stuck server must not hang the bench (or CTest).
  std::atomic<bool> stopped{false};
  auto stop_all = [&] {
    stopped = true;
    for (auto& c : iocs)
      c->stop();
  };
  auto guard = std::make_shared<net::steady_timer>(ioc);
  guard->expires_after(std::chrono::seconds{120});
  guard->async_wait([&stop_all, &run](beast::error_code ec) {
    if (ec)
      return;
    run.error("timed out after 120 s");
    stop_all();
  });
  std::atomic<bool> all_closed{false};
  std::thread watcher{[&] {
    // Cancels the guard once every client passed the last barrier.
    while (run.arrived[b_closed].load() < o.clients && !stopped)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    all_closed = true;
    net::post(ioc, [guard] { guard->cancel(); });
  }};
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < iocs.size(); ++i)
    pool.emplace_back([c = iocs[i].get()] { c->run(); });
  ioc.run();
  for (auto& t : pool)
    t.join();
  if (!all_closed)
    stop_all();
  watcher.join();

  std::vector<std::int64_t> lat;
  std::vector<std::int64_t> rec;
  for (auto& s : run.sessions) {
    const auto& l = s->get_latencies();
    lat.insert(lat.end(), l.begin(), l.end());
    if (o.crash && s->recovery_us() >= 0)
      rec.push_back(s->recovery_us());
  }
  run.sessions.clear();
  std::sort(lat.begin(), lat.end());
  std::sort(rec.begin(), rec.end());
  auto gets_us = run.phase_end[b_gets].load() - run.phase_start[b_gets].load();
  if (gets_us > 0 && !lat.empty()) {
    out.round_trips_per_s = static_cast<std::int64_t>(
      static_cast<double>(lat.size()) * 1e6 / static_cast<double>(gets_us));
    auto cpu_s = run.cpu_after_gets - run.cpu_at_gets;
    out.client_cpu_pct = cpu_s * 1e8 / static_cast<double>(gets_us);
    out.client_cpu_us_per_rt = cpu_s * 1e6 / static_cast<double>(lat.size());
  }
  out.p50_ms = to_ms(percentile(lat, 50));
  out.p99_ms = to_ms(percentile(lat, 99));
  out.max_ms = lat.empty() ? 0 : to_ms(lat.back());
  if (o.crash) {
    auto crash_us = run.phase_end[b_crash].load()
                    - run.phase_start[b_crash].load();
    if (crash_us > 0 && !rec.empty())
      out.recoveries_per_s = static_cast<std::int64_t>(
        static_cast<double>(rec.size()) * 1e6 / static_cast<double>(crash_us));
    out.recover_p50_ms = to_ms(percentile(rec, 50));
    out.recover_p99_ms = to_ms(percentile(rec, 99));
    out.lost = run.lost.load();
    out.stale = run.stale.load();
    // A client that never got its state back counts as lost too.
    out.lost += static_cast<std::int64_t>(o.clients)
                - static_cast<std::int64_t>(rec.size());
  }
  out.errors = run.errors.load();
  out.first_error = run.first_error;
  out.other_cpu_pct = meter.percent();
  std::cerr << "ws: " << out.round_trips_per_s << " round trips/s, p50 "
            << out.p50_ms << " ms, p99 " << out.p99_ms << " ms, errors "
            << out.errors << '\n';
  return out;
}

} // namespace chanstate::bench
