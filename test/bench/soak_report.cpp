// The soak's counting: errors said once, the node's RSS sampled, and the
// report as one line of JSON that says why a run failed.
#include "test/bench/soak_driver.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>

#include "test/bench/bench_util.hpp"

namespace chanstate::bench {

namespace soak_detail {

namespace {

double mean(const std::vector<std::int64_t>& xs, std::size_t from,
            std::size_t to) {
  if (to <= from)
    return 0;
  double sum = 0;
  for (auto i = from; i < to; ++i)
    sum += static_cast<double>(xs[i]);
  return sum / static_cast<double>(to - from);
}

double round2(double x) {
  return static_cast<double>(
           static_cast<std::int64_t>(x * 100 + (x < 0 ? -0.5 : 0.5)))
         / 100;
}

} // namespace

void soak_driver::error(client& c, const std::string& what) {
  error_global("client " + std::to_string(c.index) + " (" + c.topic
               + "): " + what);
}

void soak_driver::generator_out_of_fds() {
  if (generator_out_of_fds_)
    return;
  generator_out_of_fds_ = true;
  error_global("the generator ran out of file descriptors (ulimit -n): "
               "spread the clients over several generator processes");
}

void soak_driver::error_global(const std::string& what) {
  ++errors_;
  if (first_error_.empty())
    first_error_ = what;
  if (errors_ <= 20)
    std::cerr << "soak: error: " << what << '\n';
}

void soak_driver::sample_rss(std::int64_t now) {
  // Between a kill and the restart there is no node to measure.
  if (node_pid_ <= 0 || now < next_sample_ || node_down())
    return;
  next_sample_ = now + 1000 * ms;
  auto probe = probe_rss(node_pid_);
  if (probe.state == rss_probe::unreadable) {
    generator_out_of_fds();
    return;
  }
  if (probe.state == rss_probe::gone) {
    if (!node_gone_)
      error_global("node pid " + std::to_string(node_pid_)
                   + " is gone (no /proc/PID/status)");
    node_gone_ = true;
    return;
  }
  auto kb = probe.kb;
  last_rss_kb_ = kb;
  peak_rss_kb_ = std::max(peak_rss_kb_, kb);
  if (now <= end_at_)
    rss_kb_.push_back(kb);
}

soak_result soak_driver::report() {
  auto now = now_us();
  poll_chaos(now);
  if (node_pid_ > 0 && !node_gone_
      && probe_rss(node_pid_).state == rss_probe::gone) {
    node_gone_ = true;
    error_global("node pid " + std::to_string(node_pid_)
                 + " is gone at the end");
  }
  std::sort(recoveries_us_.begin(), recoveries_us_.end());
  json::object r{
    {"scenario", o_.chaos ? "soak-chaos" : "soak"},
    {"lost", lost_},
    {"stale", stale_},
    {"leaked", leaked_},
    {"mismatched", mismatched_},
    {"errors", errors_},
    {"max_errors", o_.max_errors},
    {"clients", o_.clients},
    {"seconds", round2(static_cast<double>(now - t0_) / 1e6)},
    {"storms", storms_},
    {"events", events_},
    {"adds", adds_},
    {"gets", gets_},
    {"checks", checks_},
    {"unjudged", unjudged_},
    {"crashes", crashes_},
    {"drops", drops_},
    {"leaves", storm_leaves_ + steady_leaves_},
    {"rejoins", rejoins_},
    {"reconnects", reconnects_},
    {"timeouts", timeouts_},
    {"join_retries", join_retries_},
    {"join_refusals", join_refusals_},
    {"connect_retries", connect_retries_},
    {"guard_notes", guard_notes_},
    {"storm_stuck", storm_stuck_},
    {"failed_clients", failed_},
    {"storm_max_s", round2(static_cast<double>(storm_max_us_) / 1e6)},
    {"recover_p50_ms",
     round2(static_cast<double>(percentile(recoveries_us_, 50)) / 1000)},
    {"recover_p99_ms",
     round2(static_cast<double>(percentile(recoveries_us_, 99)) / 1000)},
    // This process's CPU over the run, in % of one core.
    {"client_cpu_pct",
     round2(cpu_seconds() * 1e8
            / static_cast<double>(std::max<std::int64_t>(now - t0_, 1)))},
    {"seed", o_.seed},
  };
  if (o_.chaos) {
    r["node_kills"] = node_kills_;
    r["kill_drops"] = kill_drops_;
    r["kill_connect_failures"] = kill_connect_failures_;
    r["node_down_max_ms"] = round2(static_cast<double>(node_down_max_us_)
                                   / 1000);
    r["crash_burst"] = o_.crash_burst;
  }
  bool rss_ok = true;
  r["generator_out_of_fds"] = generator_out_of_fds_;
  if (o_.node_pid > 0) {
    r["node_alive"] = !node_gone_;
    r["peak_rss_mb"] = round2(static_cast<double>(peak_rss_kb_) / 1024);
    r["rss_samples"] = rss_kb_.size();
    auto n = rss_kb_.size();
    if (o_.chaos) {
      // Every restart starts from an empty process: no growth to judge.
      r["rss_growth_pct"] = nullptr;
    } else if (n >= 8) {
      auto q = n / 4;
      auto q2 = mean(rss_kb_, q, 2 * q);
      auto q4 = mean(rss_kb_, n - q, n);
      auto growth = q2 > 0 ? (q4 / q2 - 1) * 100 : 0.0;
      r["rss_q2_mb"] = round2(q2 / 1024);
      r["rss_q4_mb"] = round2(q4 / 1024);
      r["rss_growth_pct"] = round2(growth);
      rss_ok = o_.max_rss_growth_pct < 0 || growth <= o_.max_rss_growth_pct;
    } else {
      r["rss_growth_pct"] = nullptr;
      rss_ok = o_.max_rss_growth_pct < 0;
    }
  } else {
    r["peak_rss_mb"] = nullptr;
    r["rss_growth_pct"] = nullptr;
  }
  if (!first_error_.empty())
    r["first_error"] = first_error_;
  // Why the run failed, in words, so that "ok":false explains itself.
  std::string why;
  auto because = [&why](bool failed, const std::string& what) {
    if (failed)
      why += (why.empty() ? "" : "; ") + what;
  };
  because(lost_ || stale_ || leaked_ || mismatched_,
          "lost, stale, leaked or mismatched state");
  because(errors_ > o_.max_errors, "errors over max_errors");
  because(node_gone_, "the node died");
  because(generator_out_of_fds_,
          "the generator ran out of file descriptors");
  because(node_down(), "the node was not back after a kill");
  because(joined_ != o_.clients,
          std::to_string(o_.clients - joined_) + " clients never joined");
  because(!rss_ok, r["rss_growth_pct"].is_null()
                     ? "rss_growth_pct unknown (fewer than 8 samples)"
                     : "rss_growth_pct over max_rss_growth_pct");
  soak_result out;
  out.ok = why.empty();
  r["ok"] = out.ok;
  if (!out.ok)
    r["why"] = why;
  if (o_.max_rss_growth_pct >= 0)
    r["max_rss_growth_pct"] = o_.max_rss_growth_pct;
  out.report = std::move(r);
  return out;
}

} // namespace soak_detail

std::string soak_line(const boost::json::object& report) {
  namespace json = boost::json;
  std::string out = "{";
  for (const auto& kv : report) {
    if (out.size() > 1)
      out += ',';
    out += json::serialize(json::string{kv.key()});
    out += ':';
    if (kv.value().is_double()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.2f", kv.value().get_double());
      out += buf;
    } else {
      out += json::serialize(kv.value());
    }
  }
  out += '}';
  return out;
}

} // namespace chanstate::bench
