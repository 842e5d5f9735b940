// The soak scenario's driver: a model per client, steady traffic, storms,
// checks and the node's memory. Runs on the one thread of the ws_pool, so
// nothing here is shared between threads.
#include "test/bench/soak.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "test/bench/bench_util.hpp"
#include "test/bench/soak_model.hpp"
#include "test/bench/ws_client.hpp"

namespace chanstate::bench {

namespace {

namespace json = boost::json;

constexpr std::int64_t ms = 1000; // in microseconds
constexpr std::int64_t heartbeat_every = 25'000 * ms;
constexpr std::int64_t tick_ms = 100;
constexpr int max_refusals = 10;

enum class action { none, crash, drop, leave };

// Chaos: the soak script's signals. SIGUSR1 comes before each SIGKILL of
// the node, SIGUSR2 once the restarted node listens. This process has one
// thread, so a signal sent before the kill is handled before any reset the
// kill causes can be read.
std::atomic<int> kill_signals{0};
std::atomic<int> up_signals{0};

extern "C" void on_kill_signal(int) {
  kill_signals.fetch_add(1);
}

extern "C" void on_up_signal(int) {
  up_signals.fetch_add(1);
}

void install_chaos_signals() {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = on_kill_signal;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = on_up_signal;
  sigaction(SIGUSR2, &sa, nullptr);
}

/// The pid in `path` (the soak script writes it), 0 if there is none.
int read_pid_file(const std::string& path) {
  std::ifstream in{path};
  int pid = 0;
  in >> pid;
  return pid > 0 ? pid : 0;
}

// Phoenix's default reconnectAfterMs: 10, 50, 100, 150, 200, 250, 500,
// 1000, 2000, then 5000 ms.
std::int64_t phoenix_backoff_ms(int tries) {
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

std::string str(const json::value& v) {
  return v.is_string() ? std::string{v.get_string()} : std::string{};
}

} // namespace

rss_probe probe_rss(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  if (!in) {
    // No file: the process is gone, or this process may open no more
    // files (its own descriptor limit), which says nothing about the node.
    if (::kill(pid, 0) != 0 && errno == ESRCH)
      return {rss_probe::gone, -1};
    return {rss_probe::unreadable, -1};
  }
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return {rss_probe::ok, std::stoll(line.substr(6))};
  return {rss_probe::gone, -1}; // a zombie has no VmRSS
}

bool out_of_descriptors() {
  int fd = ::dup(2);
  if (fd < 0)
    return errno == EMFILE || errno == ENFILE;
  ::close(fd);
  return false;
}

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

class soak_driver : public ws_pool_handler {
public:
  explicit soak_driver(const soak_options& o)
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

  soak_result run() {
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
      kills_seen_ = kill_signals.load();
      ups_seen_ = up_signals.load();
    }
    sample_rss(t0_);
    pool_.run();
    return report();
  }

  // --- ws_pool_handler ----------------------------------------------------

  void on_open(int id) override {
    auto& c = at(id);
    if (c.at != client::connecting)
      return;
    --connecting_;
    c.backoff = 0;
    send_join(c, now_us());
  }

  void on_text(int id, std::string_view text) override {
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

  void on_end(int id, const ws_end& how) override {
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

  void on_tick() override {
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

private:
  client& at(int id) {
    return clients_[static_cast<std::size_t>(id)];
  }

  // --- chaos --------------------------------------------------------------

  bool node_down() const {
    return o_.chaos && kills_seen_ != ups_seen_;
  }

  void poll_chaos(std::int64_t now) {
    if (!o_.chaos)
      return;
    if (auto k = kill_signals.load(); k != kills_seen_) {
      node_kills_ += k - kills_seen_;
      kills_seen_ = k;
      killed_at_ = now;
      std::cerr << "soak: node kill " << node_kills_ << " at "
                << (now - t0_) / 1'000'000 << " s\n";
    }
    if (auto u = up_signals.load(); u != ups_seen_) {
      ups_seen_ = u;
      if (!o_.node_pid_file.empty())
        node_pid_ = read_pid_file(o_.node_pid_file);
      auto down = now - killed_at_;
      node_down_max_us_ = std::max(node_down_max_us_, down);
      std::cerr << "soak: node back (pid " << node_pid_ << ") after "
                << down / 1000 << " ms\n";
    }
  }

  // --- the run's phases ---------------------------------------------------

  void control(std::int64_t now) {
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

  void start_storm(std::int64_t now, bool final) {
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

  void finish_storm(std::int64_t now) {
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

  void stop_all(std::int64_t now) {
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

  // --- one client ---------------------------------------------------------

  void step(client& c, std::int64_t now) {
    switch (c.at) {
      case client::down:
        if (!stopping_ && now >= c.retry_at
            && connecting_ < o_.connect_concurrency)
          connect(c, now);
        return;
      case client::connecting:
      case client::joining:
      case client::busy:
        if (now > c.deadline) {
          ++timeouts_;
          error(c, std::string{"timeout while "}
                     + (c.at == client::connecting ? "connecting"
                        : c.at == client::joining  ? "joining"
                        : c.op == client::op_get   ? "waiting for a get"
                        : c.op == client::op_leave ? "leaving"
                                                   : "waiting for phx_error"));
          if (c.at == client::connecting)
            --connecting_;
          lose_connection(c);
          pool_.drop(c.index, false);
          c.at = client::down;
          c.retry_at = now + 100 * ms;
          return;
        }
        break;
      case client::join_wait:
        if (now >= c.retry_at) {
          send_join(c, now);
          return;
        }
        break;
      case client::ready:
        if (!storm_active_ && !stopping_ && now < end_at_ && now >= c.next_op)
          steady_op(c, now);
        break;
      default:
        return;
    }
    if (c.at != client::connecting && c.at != client::down
        && now - c.last_sent > heartbeat_every)
      send(c, phx_frame({}, next_ref(c), "phoenix", "heartbeat", "{}"), now, false);
  }

  void steady_op(client& c, std::int64_t now) {
    std::uniform_int_distribution<std::int64_t> jitter{period_us_ / 2,
                                                       period_us_ * 3 / 2};
    c.next_op = now + jitter(rng_);
    if (c.acked.size() + c.sent.size() >= c.leave_at) {
      ++steady_leaves_;
      start_leave(c, now);
      return;
    }
    if (std::uniform_int_distribution<int>{0, 9}(rng_) < 7) {
      auto v = soak_value(c.index, c.seq++);
      c.sent.push_back(v);
      ++adds_;
      send(c,
           phx_frame(c.jr, next_ref(c), c.topic, "add",
                 "{\"n\":" + std::to_string(v) + "}"),
           now);
      return;
    }
    send_get(c, now, false);
  }

  /// Every path back to `ready` comes through here: a storm's action or
  /// check goes out as soon as the client is free for it.
  void after_ready(client& c, std::int64_t now) {
    if (c.storm != storm_id_ || !storm_active_ || c.at != client::ready)
      return;
    auto todo = c.todo;
    c.todo = action::none;
    if (todo == action::none && c.burst_left > 0) {
      // Back-to-back: one add (progress), then the next crash.
      --c.burst_left;
      add_then_crash(c, now);
      return;
    }
    switch (todo) {
      case action::crash:
        c.burst_left = o_.crash_burst - 1;
        // Without the margin every crash follows progress, also the first
        // after a restore: a guard must never act on one.
        if (o_.avoid_guards)
          crash(c, now);
        else
          add_then_crash(c, now);
        return;
      case action::drop: {
        bool reset = (drops_++ % 2) == 1;
        pool_.drop(c.index, reset);
        c.expect = soak_expect::prefix;
        c.at = client::down;
        c.retry_at = now;
        connect(c, now);
        return;
      }
      case action::leave:
        ++storm_leaves_;
        start_leave(c, now);
        return;
      case action::none:
        break;
    }
    if (c.check_due) {
      c.check_due = false;
      send_get(c, now, true);
    }
  }

  void add_then_crash(client& c, std::int64_t now) {
    auto v = soak_value(c.index, c.seq++);
    c.sent.push_back(v);
    ++adds_;
    send(c,
         phx_frame(c.jr, next_ref(c), c.topic, "add",
                   "{\"n\":" + std::to_string(v) + "}"),
         now);
    crash(c, now);
  }

  void crash(client& c, std::int64_t now) {
    c.at = client::busy;
    c.op = client::op_crash;
    c.deadline = now + o_.timeout_ms * ms;
    c.crashed_at = now;
    ++crashes_;
    send(c, phx_frame(c.jr, next_ref(c), c.topic, "oopsy", "{}"), now);
  }

  void connect(client& c, std::int64_t now) {
    poll_chaos(now);
    c.at = client::connecting;
    c.epoch = kills_seen_;
    c.opened_while_down = node_down();
    c.ref = 0;
    c.jr.clear();
    c.deadline = now + o_.timeout_ms * ms;
    ++connecting_;
    pool_.open(c.index, c.query);
  }

  void send_join(client& c, std::int64_t now) {
    if (c.joined_once)
      ++rejoins_;
    c.jr = next_ref(c);
    c.at = client::joining;
    c.op = client::op_none;
    c.deadline = now + o_.timeout_ms * ms;
    send(c, phx_frame(c.jr, c.jr, c.topic, "phx_join", "{}"), now);
  }

  void send_get(client& c, std::int64_t now, bool storm_check) {
    c.at = client::busy;
    c.op = client::op_get;
    c.storm_get = storm_check;
    c.pending_ref = next_ref(c);
    c.deadline = now + o_.timeout_ms * ms;
    ++gets_;
    send(c, phx_frame(c.jr, c.pending_ref, c.topic, "get", "{}"), now);
  }

  void start_leave(client& c, std::int64_t now) {
    c.at = client::busy;
    c.op = client::op_leave;
    c.pending_ref = next_ref(c);
    c.deadline = now + o_.timeout_ms * ms;
    send(c, phx_frame(c.jr, c.pending_ref, c.topic, "phx_leave", "{}"), now);
  }

  void send(client& c, std::string text, std::int64_t now, bool event = true) {
    if (event)
      ++events_;
    c.last_sent = now;
    pool_.send(c.index, std::move(text));
  }

  static std::string next_ref(client& c) {
    return std::to_string(++c.ref);
  }

  void pick_leave_at(client& c) {
    c.leave_at = static_cast<std::size_t>(
      std::uniform_int_distribution<int>{1, std::max(o_.max_ns, 1)}(rng_));
  }

  void become_ready(client& c, std::int64_t now) {
    c.at = client::ready;
    c.op = client::op_none;
    if (c.storm_get) {
      c.storm_get = false;
      if (storm_active_ && c.storm == storm_id_)
        ++arrived_;
      c.storm = 0;
    }
    after_ready(c, now);
  }

  /// What the model may still expect once a connection is gone: frames in
  /// flight may be lost, and a leave may or may not have happened.
  void lose_connection(client& c) {
    if (c.at == client::ready || c.at == client::busy) {
      c.expect = c.at == client::busy && c.op == client::op_leave
                   ? soak_expect::unknown
                   : soak_expect::prefix;
      c.storm_get = false;
      c.check_due = c.storm != 0;
    }
  }

  // --- frames -------------------------------------------------------------

  void on_reply(client& c, const std::string& jr, const std::string& ref,
                const json::value& payload, std::int64_t now) {
    std::string status;
    const json::object* response = nullptr;
    if (payload.is_object()) {
      if (auto st = payload.get_object().if_contains("status"))
        status = str(*st);
      if (auto r = payload.get_object().if_contains("response");
          r && r->is_object())
        response = &r->get_object();
    }
    if (c.at == client::joining && ref == c.jr)
      return on_join_reply(c, status, response, now);
    if (c.at == client::busy && ref == c.pending_ref && jr == c.jr) {
      if (c.op == client::op_get)
        return on_get_reply(c, status, response, now);
      if (c.op == client::op_leave) {
        // The old channel's phx_close follows with the old join ref and is
        // ignored; the join is held by the node until the leave is done.
        c.acked.clear();
        c.sent.clear();
        c.expect = soak_expect::fresh;
        pick_leave_at(c);
        send_join(c, now);
        return;
      }
    }
    if (jr == c.jr && status != "ok")
      error(c, "unexpected " + status + " reply: " + json::serialize(payload));
  }

  void on_join_reply(client& c, const std::string& status,
                     const json::object* response, std::int64_t now) {
    if (status != "ok") {
      auto hint = response ? response->if_contains("retry_after_ms") : nullptr;
      c.at = client::join_wait;
      if (hint && (hint->is_int64() || hint->is_uint64())) {
        ++join_retries_;
        c.retry_at = now + hint->to_number<std::int64_t>() * ms;
        return;
      }
      ++join_refusals_;
      error(c, "join refused: "
                 + (response ? json::serialize(*response) : std::string{}));
      if (++c.refusals > max_refusals) {
        fail(c);
        return;
      }
      c.retry_at = now + c.refusals * 1000 * ms;
      return;
    }
    c.refusals = 0;
    static const json::array none;
    const json::value* ns = response ? response->if_contains("ns") : nullptr;
    if (!ns || !ns->is_array())
      error(c, "join reply without ns");
    for (const char* k : {"quarantined", "note", "fallback_generation"})
      if (response && response->contains(k)) {
        ++guard_notes_;
        error(c, "a guard acted on the join: " + json::serialize(*response));
        break;
      }
    bool restored = response && response->contains("restored")
                    && response->at("restored").is_bool()
                    && response->at("restored").get_bool();
    if (c.expect == soak_expect::fresh && restored && c.joined_once) {
      ++restored_after_leave_;
      ++stale_;
      error(c, "restored after a clean leave");
    }
    judge(c, ns && ns->is_array() ? ns->get_array() : none, c.expect);
    if (!c.joined_once) {
      c.joined_once = true;
      ++joined_;
    }
    if (c.crashed_at) {
      recoveries_us_.push_back(now - c.crashed_at);
      c.crashed_at = 0;
    }
    c.expect = soak_expect::exact;
    if (c.next_op < now)
      c.next_op = now + std::uniform_int_distribution<std::int64_t>{
                          0, period_us_}(rng_);
    become_ready(c, now);
  }

  void on_get_reply(client& c, const std::string& status,
                    const json::object* response, std::int64_t now) {
    const json::value* ns = response ? response->if_contains("ns") : nullptr;
    if (status != "ok" || !ns || !ns->is_array()) {
      error(c, "bad get reply");
    } else {
      judge(c, ns->get_array(), soak_expect::exact);
    }
    become_ready(c, now);
  }

  void on_channel_error(client& c, std::int64_t now) {
    if (c.at == client::busy && c.op == client::op_crash) {
      c.expect = soak_expect::exact;
      send_join(c, now);
      return;
    }
    if (c.at == client::ready || c.at == client::busy)
      on_unexpected_end(c, "phx_error", now);
  }

  void on_unexpected_end(client& c, const std::string& what,
                         std::int64_t now) {
    error(c, "unexpected " + what);
    c.expect = c.at == client::busy && c.op == client::op_leave
                 ? soak_expect::unknown
                 : soak_expect::prefix;
    if (c.at == client::busy && c.op == client::op_get && c.storm_get) {
      c.storm_get = false;
      c.check_due = true;
    }
    send_join(c, now);
  }

  void judge(client& c, const json::array& ns, soak_expect how) {
    std::vector<std::int64_t> own;
    auto v = soak_check(c.index, ns, c.acked, c.sent, how, own);
    ++checks_;
    if (how == soak_expect::unknown)
      ++unjudged_;
    lost_ += v.lost;
    stale_ += v.stale;
    leaked_ += v.leaked;
    mismatched_ += v.mismatched;
    if (!v.ok()) {
      std::string model;
      for (auto x : c.acked)
        model += std::to_string(x) + " ";
      model += "| ";
      for (auto x : c.sent)
        model += std::to_string(x) + " ";
      error(c, "state check failed (lost " + std::to_string(v.lost)
                 + ", stale " + std::to_string(v.stale) + ", leaked "
                 + std::to_string(v.leaked) + ", mismatched "
                 + std::to_string(v.mismatched) + "): got "
                 + json::serialize(ns) + ", model acked | sent: " + model);
    }
    c.acked = std::move(own);
    c.sent.clear();
  }

  void fail(client& c) {
    ++failed_;
    pool_.drop(c.index, false);
    if (storm_active_ && c.storm == storm_id_)
      --expected_;
    c.storm = 0;
    c.at = client::failed;
  }

  // --- counting -----------------------------------------------------------

  void error(client& c, const std::string& what) {
    error_global("client " + std::to_string(c.index) + " (" + c.topic
                 + "): " + what);
  }

  // This process reached its limit on open files (ulimit -n): the
  // generator failed, not the node. Said once, as an error.
  void generator_out_of_fds() {
    if (generator_out_of_fds_)
      return;
    generator_out_of_fds_ = true;
    error_global("the generator ran out of file descriptors (ulimit -n): "
                 "spread the clients over several generator processes");
  }

  void error_global(const std::string& what) {
    ++errors_;
    if (first_error_.empty())
      first_error_ = what;
    if (errors_ <= 20)
      std::cerr << "soak: error: " << what << '\n';
  }

  void sample_rss(std::int64_t now) {
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

  soak_result report() {
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

  soak_options o_;
  std::mt19937_64 rng_;
  json::parser parser_;
  std::vector<client> clients_;
  std::int64_t period_us_ = 0;

  std::int64_t t0_ = 0;
  std::int64_t end_at_ = 0;
  std::int64_t join_deadline_ = 0;
  std::int64_t next_storm_ = 0;
  std::int64_t next_sample_ = 0;
  std::int64_t close_deadline_ = 0;
  int connecting_ = 0;
  int joined_ = 0;
  int failed_ = 0;
  int closed_ = 0;
  bool all_joined_ = false;
  bool stopping_ = false;
  bool node_gone_ = false;
  bool generator_out_of_fds_ = false;

  std::uint64_t storm_id_ = 0;
  bool storm_active_ = false;
  bool storm_final_ = false;
  bool final_done_ = false;
  std::int64_t storm_start_ = 0;
  std::int64_t storm_deadline_ = 0;
  std::int64_t expected_ = 0;
  std::int64_t arrived_ = 0;
  std::int64_t storm_max_us_ = 0;

  std::int64_t lost_ = 0;
  std::int64_t stale_ = 0;
  std::int64_t leaked_ = 0;
  std::int64_t mismatched_ = 0;
  std::int64_t errors_ = 0;
  std::string first_error_;
  std::int64_t storms_ = 0;
  std::int64_t events_ = 0;
  std::int64_t adds_ = 0;
  std::int64_t gets_ = 0;
  std::int64_t checks_ = 0;
  std::int64_t unjudged_ = 0;
  std::int64_t crashes_ = 0;
  std::int64_t drops_ = 0;
  std::int64_t storm_leaves_ = 0;
  std::int64_t steady_leaves_ = 0;
  std::int64_t rejoins_ = 0;
  std::int64_t reconnects_ = 0;
  std::int64_t timeouts_ = 0;
  std::int64_t join_retries_ = 0;
  std::int64_t join_refusals_ = 0;
  std::int64_t connect_retries_ = 0;
  std::int64_t guard_notes_ = 0;
  std::int64_t restored_after_leave_ = 0;
  std::int64_t storm_stuck_ = 0;
  std::vector<std::int64_t> recoveries_us_;

  std::int64_t last_rss_kb_ = 0;
  std::int64_t peak_rss_kb_ = 0;
  std::vector<std::int64_t> rss_kb_;

  // Chaos: kills and restarts seen, and what they cost.
  int kills_seen_ = 0;
  int ups_seen_ = 0;
  std::int64_t node_kills_ = 0;
  std::int64_t kill_drops_ = 0;
  std::int64_t kill_connect_failures_ = 0;
  std::int64_t killed_at_ = 0;
  std::int64_t node_down_max_us_ = 0;

  // The node measured (chaos: the current one, from node_pid_file).
  int node_pid_ = 0;

  // Last: its connections go first, while the clients they name still exist.
  ws_pool pool_;
};

} // namespace

std::string soak_line(const json::object& report) {
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

soak_result run_soak(const soak_options& o) {
  try {
    soak_driver d{o};
    return d.run();
  } catch (const std::invalid_argument& e) {
    soak_result out;
    out.report = {{"scenario", "soak"}, {"error", e.what()}, {"ok", false}};
    return out;
  }
}

} // namespace chanstate::bench
