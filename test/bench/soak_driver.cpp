// The soak run: its ws_pool callbacks, the node kills of chaos, and the
// phases (joins, storms, the final check, the close).
#include "test/bench/soak_driver.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <random>
#include <string>

#include "test/bench/bench_util.hpp"
#include "test/bench/soak_chaos.hpp"

namespace chanstate::bench {

namespace soak_detail {

soak_driver::soak_driver(const soak_options& o)
  : o_(o),
    rng_(o.seed),
    clients_(static_cast<std::size_t>(o.clients)),
    pool_(o.url, *this, std::chrono::milliseconds{tick_ms}) {
  auto prefix = "soak-" + std::to_string(::getpid()) + "-"
                + std::to_string(now_us() % 1'000'000'000) + "-";
  for (int i = 0; i < o.clients; ++i) {
    auto& c = clients_[static_cast<std::size_t>(i)];
    c.index = i;
    c.topic = "room:soak-" + std::to_string(i % std::max(o.topics, 1));
    c.query = "client_id=" + prefix + std::to_string(i) + "&vsn=2.0.0";
    pick_leave_at(c);
  }
  period_us_ = static_cast<std::int64_t>(
    static_cast<double>(o.clients) * 1e6 / std::max(o.rate, 1));
}

soak_result soak_driver::run() {
  t0_ = now_us();
  node_pid_ = o_.node_pid;
  end_at_ = t0_ + static_cast<std::int64_t>(o_.seconds) * 1'000'000;
  join_deadline_ = t0_
                   + std::max<std::int64_t>(120, o_.clients / 50) * 1'000'000;
  std::cerr << "soak: " << o_.clients << " clients to " << o_.url << " for "
            << o_.seconds << " s, a storm every " << o_.storm_every_ms
            << " ms (crash " << o_.crash_pct << "%, drop " << o_.drop_pct
            << "%, leave " << o_.leave_pct << "%), " << o_.rate
            << " events/s between storms\n";
  if (o_.chaos) {
    install_chaos_signals();
    kills_seen_ = chaos_kills();
    ups_seen_ = chaos_ups();
  }
  sample_rss(t0_);
  pool_.run();
  return report();
}

void soak_driver::on_open(int id) {
  auto& c = at(id);
  if (c.at != client::connecting)
    return;
  --connecting_;
  c.backoff = 0;
  send_join(c, now_us());
}

void soak_driver::on_text(int id, std::string_view text) {
  auto& c = at(id);
  auto now = now_us();
  c.opened_while_down = false;
  json::error_code ec;
  parser_.reset();
  parser_.write(text.data(), text.size(), ec);
  if (ec)
    return error(c, "bad frame: " + ec.message());
  auto v = parser_.release();
  if (!v.is_array() || v.get_array().size() != 5)
    return error(c, "frame is not a 5-element array");
  const auto& f = v.get_array();
  auto topic = str(f[2]);
  if (topic == "phoenix")
    return; // heartbeat reply
  if (topic != c.topic)
    return error(c, "frame for a foreign topic " + topic);
  auto jr = str(f[0]);
  auto ref = str(f[1]);
  auto event = str(f[3]);
  if (event == "phx_reply")
    on_reply(c, jr, ref, f[4], now);
  else if (event == "phx_error" && jr == c.jr)
    on_channel_error(c, now);
  else if (event == "phx_close" && jr == c.jr && c.at != client::joining
           && !(c.at == client::busy && c.op == client::op_leave))
    on_unexpected_end(c, "phx_close", now);
}

void soak_driver::on_end(int id, const ws_end& how) {
  auto& c = at(id);
  auto now = now_us();
  poll_chaos(now);
  if (c.at == client::closing) {
    c.at = client::closed;
    ++closed_;
    if (how.why != "closed")
      error(c, "clean close ended as " + how.why);
    return;
  }
  if (c.at == client::closed || c.at == client::failed)
    return;
  if (c.at == client::connecting)
    --connecting_;
  lose_connection(c);
  // Chaos: the connection's node was killed, or it was opened while no
  // node listened. This thread may read a connection's end well after
  // SIGUSR2 when it is busy, hence the flag taken at connect().
  if (o_.chaos
      && (c.epoch != kills_seen_ || c.opened_while_down || node_down())) {
    if (c.at == client::connecting && c.epoch == kills_seen_)
      ++kill_connect_failures_;
    else
      ++kill_drops_;
    // Only what a reply showed was acknowledged; a crash or add in flight
    // may be gone with the node.
    if (c.expect == soak_expect::exact)
      c.expect = soak_expect::prefix;
    c.at = client::down;
    c.retry_at = now + phoenix_backoff_ms(c.backoff++) * ms;
    return;
  }
  if (how.why.rfind("connect", 0) == 0 && out_of_descriptors())
    generator_out_of_fds();
  bool busy_node = how.close_code == 1013 || how.http_status == 429
                   || how.http_status == 503;
  std::int64_t delay = 200 * ms;
  if (busy_node) {
    ++connect_retries_;
    delay = how.retry_after_ms >= 0 ? how.retry_after_ms * ms : 1000 * ms;
  } else {
    ++reconnects_;
    auto why = "connection ended: " + how.why;
    if (how.close_code)
      why += " (close " + std::to_string(how.close_code) + ")";
    if (how.http_status)
      why += " (HTTP " + std::to_string(how.http_status) + ")";
    error(c, why);
  }
  c.at = client::down;
  c.retry_at = now + delay;
}

void soak_driver::on_tick() {
  auto now = now_us();
  poll_chaos(now);
  sample_rss(now);
  if (node_gone_) {
    // Nothing left to measure; every client would only report the loss.
    std::cerr << "soak: the node is gone, stopping\n";
    pool_.stop();
    return;
  }
  control(now);
  for (auto& c : clients_)
    step(c, now);
}

void soak_driver::poll_chaos(std::int64_t now) {
  if (!o_.chaos)
    return;
  if (auto k = chaos_kills(); k != kills_seen_) {
    node_kills_ += k - kills_seen_;
    kills_seen_ = k;
    killed_at_ = now;
    std::cerr << "soak: node kill " << node_kills_ << " at "
              << (now - t0_) / 1'000'000 << " s\n";
  }
  if (auto u = chaos_ups(); u != ups_seen_) {
    ups_seen_ = u;
    if (!o_.node_pid_file.empty())
      node_pid_ = read_pid_file(o_.node_pid_file);
    auto down = now - killed_at_;
    node_down_max_us_ = std::max(node_down_max_us_, down);
    std::cerr << "soak: node back (pid " << node_pid_ << ") after "
              << down / 1000 << " ms\n";
  }
}

void soak_driver::control(std::int64_t now) {
  if (stopping_) {
    if (closed_ + failed_ >= o_.clients || now > close_deadline_) {
      if (closed_ + failed_ < o_.clients)
        error_global("the run ended with "
                     + std::to_string(o_.clients - closed_ - failed_)
                     + " clients not closed");
      pool_.stop();
    }
    return;
  }
  if (!all_joined_) {
    if (joined_ + failed_ >= o_.clients) {
      all_joined_ = true;
      next_storm_ = now + o_.storm_every_ms * ms;
      std::cerr << "soak: all " << joined_ << " clients joined in "
                << (now - t0_) / 1000 << " ms\n";
    } else if (now > join_deadline_) {
      all_joined_ = true;
      next_storm_ = now;
      error_global(std::to_string(o_.clients - joined_ - failed_)
                   + " clients had not joined after "
                   + std::to_string((now - t0_) / 1'000'000) + " s");
    }
  }
  if (storm_active_) {
    if (arrived_ >= expected_ || now > storm_deadline_)
      finish_storm(now);
    return;
  }
  if (final_done_) {
    stop_all(now);
    return;
  }
  if (now >= end_at_) {
    start_storm(now, true);
    return;
  }
  if (all_joined_ && now >= next_storm_)
    start_storm(now, false);
}

void soak_driver::start_storm(std::int64_t now, bool final) {
  ++storm_id_;
  storm_active_ = true;
  storm_final_ = final;
  storm_start_ = now;
  storm_deadline_ = now + 2 * o_.timeout_ms * ms + 10'000 * ms;
  expected_ = 0;
  arrived_ = 0;
  std::int64_t crashes = 0;
  std::int64_t drops = 0;
  std::int64_t leaves = 0;
  std::uniform_int_distribution<int> pct{0, 99};
  for (auto& c : clients_) {
    if (c.at == client::failed)
      continue;
    ++expected_;
    c.storm = storm_id_;
    c.check_due = true;
    c.todo = action::none;
    c.burst_left = 0;
    if (final || c.at != client::ready)
      continue;
    auto r = pct(rng_);
    if (r < o_.crash_pct) {
      c.todo = action::crash;
      ++crashes;
    } else if (r < o_.crash_pct + o_.drop_pct) {
      c.todo = action::drop;
      ++drops;
    } else if (r < o_.crash_pct + o_.drop_pct + o_.leave_pct) {
      c.todo = action::leave;
      ++leaves;
    }
  }
  std::cerr << "soak: " << (final ? "final check" : "storm ")
            << (final ? "" : std::to_string(storms_ + 1)) << " at "
            << (now - t0_) / 1'000'000 << " s: " << crashes << " crash, "
            << drops << " drop, " << leaves << " leave, " << expected_
            << " to check\n";
  for (auto& c : clients_)
    if (c.storm == storm_id_ && c.at == client::ready)
      after_ready(c, now);
}

void soak_driver::finish_storm(std::int64_t now) {
  storm_active_ = false;
  auto took = now - storm_start_;
  storm_max_us_ = std::max(storm_max_us_, took);
  if (arrived_ < expected_) {
    storm_stuck_ += expected_ - arrived_;
    error_global(std::to_string(expected_ - arrived_)
                 + " clients did not finish storm "
                 + std::to_string(storm_id_) + " within "
                 + std::to_string(took / 1'000'000) + " s");
  }
  if (storm_final_)
    final_done_ = true;
  else
    ++storms_;
  std::cerr << "soak: " << (storm_final_ ? "final check" : "storm")
            << " done in " << took / 1000 << " ms; so far lost " << lost_
            << ", stale " << stale_ << ", leaked " << leaked_
            << ", mismatched " << mismatched_ << ", errors " << errors_
            << ", node RSS " << last_rss_kb_ / 1024 << " MB\n";
  next_storm_ = now + o_.storm_every_ms * ms;
}

void soak_driver::stop_all(std::int64_t now) {
  stopping_ = true;
  close_deadline_ = now + 15'000 * ms;
  for (auto& c : clients_) {
    switch (c.at) {
      case client::ready:
      case client::busy:
      case client::joining:
      case client::join_wait:
        c.at = client::closing;
        pool_.close(c.index); // may report on_end at once
        break;
      case client::connecting:
      case client::down:
        pool_.drop(c.index, false);
        c.at = client::closed;
        ++closed_;
        break;
      default:
        break;
    }
  }
}

} // namespace soak_detail

soak_result run_soak(const soak_options& o) {
  try {
    soak_detail::soak_driver d{o};
    return d.run();
  } catch (const std::invalid_argument& e) {
    soak_result out;
    out.report = {{"scenario", "soak"}, {"error", e.what()}, {"ok", false}};
    return out;
  }
}

} // namespace chanstate::bench
