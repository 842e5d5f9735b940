// ws-hold: C clients connect and join one channel each, then are held for
// S seconds while each sends phoenix.js's heartbeat every H ms and a few
// `get`s a second (over all clients) are timed. The node's RSS is sampled
// before, once every client is held, and during the hold, so the memory
// per connection can be stated. A process may open only so many
// descriptors (ulimit -n), so --procs=K runs K copies of this program as
// children, each holding its share, and merges their figures.
#include "test/bench/ws_hold.hpp"

#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "test/bench/bench_util.hpp"
#include "test/bench/soak.hpp"
#include "test/bench/ws_pool.hpp"

extern char** environ;

namespace chanstate::bench {

namespace {

namespace json = boost::json;
constexpr std::int64_t ms = 1000;

double to_ms(std::int64_t us) {
  return static_cast<double>(us) / 1000.0;
}

double mb(std::int64_t kb) {
  return static_cast<double>(kb) / 1024.0;
}

std::int64_t node_rss_kb(int pid) {
  if (pid <= 0)
    return -1;
  auto p = probe_rss(pid);
  return p.state == rss_probe::ok ? p.kb : -1;
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

/// The clients of one process.
class holder : public ws_pool_handler {
public:
  explicit holder(const ws_hold_options& o)
    : o_(o), pool_(o.url, *this, std::chrono::milliseconds{10}) {
    clients_.resize(static_cast<std::size_t>(o.clients));
    for (int i = 0; i < o.clients; ++i) {
      auto& c = clients_[static_cast<std::size_t>(i)];
      c.topic = "room:hold-" + std::to_string(o.first_client + i);
    }
  }

  json::object run() {
    base_kb_ = node_rss_kb(o_.node_pid);
    start_ = now_us();
    pool_.run();
    return report();
  }

  std::vector<std::int64_t> get_lat, hb_lat;

  void on_open(int id) override {
    auto& c = at(id);
    --connecting_;
    c.state = client::joining;
    c.sent = now_us();
    pool_.send(id, phx_frame("1", "1", c.topic, "phx_join", "{}"));
  }

  void on_text(int id, std::string_view text) override {
    auto& c = at(id);
    auto now = now_us();
    json::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_array() || v.get_array().size() < 5)
      return error("client " + std::to_string(id) + ": not a frame");
    auto& f = v.get_array();
    auto ref = f[1].is_string() ? std::string{f[1].get_string()} : "";
    auto* payload = f[4].if_object();
    auto* status = payload ? payload->if_contains("status") : nullptr;
    bool ok = status && status->is_string() && status->get_string() == "ok";
    if (c.state == client::joining && ref == "1") {
      if (!ok)
        return fail(c, id, "join refused: " + json::serialize(f[4]));
      c.state = client::held;
      ++held_;
      // phoenix.js starts its heartbeat with the connection.
      hb_due_.push_back({now + o_.heartbeat_ms * ms, id});
      if (held_ + failed_ == o_.clients)
        all_held(now);
      return;
    }
    if (!c.hb_ref.empty() && ref == c.hb_ref) {
      c.hb_ref.clear();
      --outstanding_;
      if (!ok)
        return error("client " + std::to_string(id) + ": heartbeat refused");
      ++hb_ok_;
      hb_lat.push_back(now - c.hb_sent);
      return;
    }
    if (!c.get_ref.empty() && ref == c.get_ref) {
      c.get_ref.clear();
      --outstanding_;
      if (!ok)
        return error("client " + std::to_string(id) + ": get refused");
      ++gets_ok_;
      get_lat.push_back(now - c.get_sent);
    }
  }

  void on_end(int id, const ws_end& how) override {
    auto& c = at(id);
    if (c.state == client::failed)
      return;
    if (c.state == client::connecting)
      --connecting_;
    if (c.state == client::held)
      --held_;
    if (how.why.rfind("connect", 0) == 0 && out_of_descriptors())
      out_of_fds_ = true;
    fail(c, id, "connection ended: " + how.why);
  }

  void on_tick() override {
    auto now = now_us();
    open_more();
    if (now - last_rss_ > 1000 * ms && o_.node_pid > 0) {
      last_rss_ = now;
      peak_kb_ = std::max(peak_kb_, node_rss_kb(o_.node_pid));
    }
    if (!hold_at_) {
      if (now - start_ > 600 * 1000 * ms) {
        error("not every client joined within 600 s");
        all_held(now);
      }
    }
    heartbeats(now);
    if (!hold_at_)
      return;
    auto end = hold_at_ + o_.seconds * 1000 * ms;
    if (now < end) {
      gets(now);
      return;
    }
    // The hold is over: wait for what is in flight, then stop.
    if (outstanding_ <= 0 || now > end + o_.timeout_ms * ms) {
      if (outstanding_ > 0)
        error(std::to_string(outstanding_)
              + " heartbeats or gets unanswered after the hold");
      pool_.stop();
    }
  }

private:
  struct client {
    enum { idle, connecting, joining, held, failed } state = idle;
    std::string topic;
    std::int64_t sent = 0;
    std::string hb_ref;
    std::int64_t hb_sent = 0;
    std::string get_ref;
    std::int64_t get_sent = 0;
    std::uint64_t ref = 1;
  };

  struct due {
    std::int64_t at;
    int id;
  };

  client& at(int id) {
    return clients_[static_cast<std::size_t>(id)];
  }

  void error(const std::string& what) {
    if (errors_++ == 0)
      first_error_ = what;
    if (errors_ <= 10)
      std::cerr << "ws-hold: " << what << '\n';
  }

  void fail(client& c, int id, const std::string& what) {
    c.state = client::failed;
    ++failed_;
    error("client " + std::to_string(id) + ": " + what);
    pool_.drop(id, false);
    if (!hold_at_ && held_ + failed_ == o_.clients)
      all_held(now_us());
  }

  void open_more() {
    while (next_open_ < o_.clients && connecting_ < o_.connect_concurrency) {
      auto id = next_open_++;
      at(id).state = client::connecting;
      ++connecting_;
      pool_.open(id, "client_id=hold-" + std::to_string(::getpid()) + "-"
                       + std::to_string(o_.first_client + id)
                       + "&vsn=2.0.0");
    }
  }

  void all_held(std::int64_t now) {
    if (hold_at_)
      return;
    hold_at_ = now;
    join_s_ = static_cast<double>(now - start_) / 1e6;
    held_at_start_ = held_;
    held_kb_ = node_rss_kb(o_.node_pid);
    peak_kb_ = std::max(peak_kb_, held_kb_);
    std::cerr << "ws-hold: " << held_ << " of " << o_.clients
              << " clients held after " << join_s_ << " s\n";
    if (o_.child)
      std::cout << "held " << held_ << std::endl; // the parent waits for it
  }

  // Every held client's heartbeat, each on its own period (a FIFO: the
  // period is the same for all, so the queue stays in time order).
  void heartbeats(std::int64_t now) {
    while (!hb_due_.empty() && hb_due_.front().at <= now) {
      auto d = hb_due_.front();
      hb_due_.pop_front();
      auto& c = at(d.id);
      if (c.state != client::held)
        continue;
      if (!c.hb_ref.empty() && now - c.hb_sent > o_.timeout_ms * ms)
        error("client " + std::to_string(d.id) + ": heartbeat unanswered");
      if (c.hb_ref.empty()) {
        c.hb_ref = std::to_string(++c.ref);
        c.hb_sent = now;
        ++outstanding_;
        ++hb_sent_;
        pool_.send(d.id, phx_frame("", c.hb_ref, "phoenix", "heartbeat", "{}"));
      }
      hb_due_.push_back({d.at + o_.heartbeat_ms * ms, d.id});
    }
  }

  // `get`s at get_rate over all clients, round robin.
  void gets(std::int64_t now) {
    auto target = (now - hold_at_) * o_.get_rate / (1000 * ms);
    for (int tries = 0; gets_sent_ < target && tries < o_.clients; ++tries) {
      auto id = static_cast<int>(get_cursor_++ % o_.clients);
      auto& c = at(id);
      if (c.state != client::held || !c.get_ref.empty())
        continue;
      c.get_ref = std::to_string(++c.ref);
      c.get_sent = now;
      ++outstanding_;
      ++gets_sent_;
      pool_.send(id, phx_frame("1", c.get_ref, c.topic, "get", "{}"));
    }
  }

  json::object report() {
    json::object r{
      {"clients", o_.clients},
      {"held", held_at_start_},
      {"held_at_end", held_},
      {"failed", failed_},
      {"join_s", join_s_},
      {"heartbeats", hb_sent_},
      {"heartbeats_ok", hb_ok_},
      {"gets", gets_sent_},
      {"gets_ok", gets_ok_},
      {"errors", errors_},
      {"generator_out_of_fds", out_of_fds_},
      {"node_rss_base_kb", base_kb_},
      {"node_rss_held_kb", held_kb_},
      {"node_peak_rss_kb", peak_kb_},
    };
    if (!first_error_.empty())
      r["first_error"] = first_error_;
    return r;
  }

  const ws_hold_options& o_;
  ws_pool pool_;
  std::vector<client> clients_;
  std::deque<due> hb_due_;
  int next_open_ = 0;
  int connecting_ = 0;
  int held_ = 0;
  int held_at_start_ = 0;
  int failed_ = 0;
  std::int64_t start_ = 0;
  std::int64_t hold_at_ = 0;
  double join_s_ = 0;
  std::int64_t outstanding_ = 0;
  std::int64_t hb_sent_ = 0;
  std::int64_t hb_ok_ = 0;
  std::int64_t gets_sent_ = 0;
  std::int64_t gets_ok_ = 0;
  std::uint64_t get_cursor_ = 0;
  std::int64_t errors_ = 0;
  std::string first_error_;
  bool out_of_fds_ = false;
  std::int64_t base_kb_ = -1;
  std::int64_t held_kb_ = -1;
  std::int64_t peak_kb_ = -1;
  std::int64_t last_rss_ = 0;
};

// --- several processes ------------------------------------------------------

struct child_proc {
  pid_t pid = -1;
  int out = -1; // its stdout
  std::string buf;
  bool held = false;
  json::object result;
};

// Starts this program as `ws-hold --child ...` for one share of clients.
child_proc spawn_child(const ws_hold_options& o, int clients, int first,
                       const std::string& samples) {
  std::vector<std::string> args{
    "chanstate-bench",
    "ws-hold",
    "--url=" + o.url,
    "--clients=" + std::to_string(clients),
    "--seconds=" + std::to_string(o.seconds),
    "--heartbeat-ms=" + std::to_string(o.heartbeat_ms),
    "--get-rate=" + std::to_string(std::max(1, o.get_rate / o.procs)),
    "--connect-concurrency=" + std::to_string(o.connect_concurrency),
    "--timeout-ms=" + std::to_string(o.timeout_ms),
    "--first-client=" + std::to_string(first),
    "--samples-file=" + samples,
    "--child"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  child_proc c;
  if (::pipe(fds) != 0)
    return c;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  if (posix_spawn(&c.pid, "/proc/self/exe", &fa, nullptr, argv.data(),
                  environ)
      != 0)
    c.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  c.out = fds[0];
  return c;
}

void read_samples(const std::string& path, std::vector<std::int64_t>& gets,
                  std::vector<std::int64_t>& hbs) {
  std::ifstream in{path};
  char kind;
  std::int64_t us;
  while (in >> kind >> us)
    (kind == 'g' ? gets : hbs).push_back(us);
  std::remove(path.c_str());
}

void write_samples(const std::string& path, const holder& h) {
  std::ofstream out{path};
  for (auto us : h.get_lat)
    out << "g " << us << '\n';
  for (auto us : h.hb_lat)
    out << "h " << us << '\n';
}

std::int64_t num(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : 0;
}

} // namespace

json::object run_ws_hold(const ws_hold_options& o, bool& ok) {
  auto fd_limit = raise_fd_limit();
  std::vector<std::int64_t> gets, hbs;
  json::object r;
  std::int64_t base_kb = node_rss_kb(o.node_pid);
  std::int64_t held_kb = -1, peak_kb = -1;
  double cpu0 = cpu_seconds();
  auto t0 = now_us();
  if (o.procs <= 1) {
    holder h{o};
    r = h.run();
    if (o.child) {
      write_samples(o.samples_file, h);
      return r;
    }
    gets = h.get_lat;
    hbs = h.hb_lat;
    held_kb = num(r, "node_rss_held_kb");
    peak_kb = num(r, "node_peak_rss_kb");
  } else {
    std::vector<child_proc> kids;
    int share = (o.clients + o.procs - 1) / o.procs;
    auto tag = "/tmp/chanstate-ws-hold-" + std::to_string(::getpid()) + "-";
    for (int k = 0, first = 0; k < o.procs && first < o.clients; ++k) {
      int n = std::min(share, o.clients - first);
      kids.push_back(spawn_child(o, n, first, tag + std::to_string(k)));
      first += n;
    }
    std::size_t done = 0;
    std::size_t held = 0;
    while (done < kids.size()) {
      std::vector<pollfd> fds;
      for (auto& k : kids)
        fds.push_back({k.out, POLLIN, 0});
      ::poll(fds.data(), fds.size(), 1000);
      peak_kb = std::max(peak_kb, node_rss_kb(o.node_pid));
      for (std::size_t i = 0; i < kids.size(); ++i) {
        auto& k = kids[i];
        if (k.out < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
          continue;
        char buf[4096];
        auto n = ::read(k.out, buf, sizeof buf);
        if (n > 0) {
          k.buf.append(buf, static_cast<std::size_t>(n));
        } else {
          ::close(k.out);
          k.out = -1;
          ++done;
        }
        for (auto nl = k.buf.find('\n'); nl != std::string::npos;
             nl = k.buf.find('\n')) {
          auto line = k.buf.substr(0, nl);
          k.buf.erase(0, nl + 1);
          if (line.rfind("held ", 0) == 0 && !k.held) {
            k.held = true;
            // Every child holds its clients: the node's RSS for all.
            if (++held == kids.size()) {
              held_kb = node_rss_kb(o.node_pid);
              peak_kb = std::max(peak_kb, held_kb);
            }
          } else if (!line.empty() && line[0] == '{') {
            json::error_code ec;
            auto v = json::parse(line, ec);
            if (!ec && v.is_object())
              k.result = std::move(v.get_object());
          }
        }
      }
    }
    for (auto& k : kids)
      if (k.pid > 0)
        ::waitpid(k.pid, nullptr, 0);
    // Sums over the children.
    const char* sums[] = {"clients",   "held",       "held_at_end",
                          "failed",    "heartbeats", "heartbeats_ok",
                          "gets",      "gets_ok",    "errors"};
    for (auto key : sums) {
      std::int64_t total = 0;
      for (auto& k : kids)
        total += num(k.result, key);
      r[key] = total;
    }
    double join_s = 0;
    bool out_of_fds = false;
    for (std::size_t i = 0; i < kids.size(); ++i) {
      auto& k = kids[i];
      if (k.result.empty())
        r["errors"] = num(r, "errors") + 1;
      if (auto* j = k.result.if_contains("join_s"); j && j->is_double())
        join_s = std::max(join_s, j->get_double());
      if (auto* f = k.result.if_contains("generator_out_of_fds");
          f && f->is_bool())
        out_of_fds = out_of_fds || f->get_bool();
      if (auto* e = k.result.if_contains("first_error");
          e && !r.contains("first_error"))
        r["first_error"] = *e;
      read_samples(tag + std::to_string(i), gets, hbs);
    }
    r["join_s"] = join_s;
    r["generator_out_of_fds"] = out_of_fds;
  }
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
