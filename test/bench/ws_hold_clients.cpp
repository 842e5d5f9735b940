// ws-hold's clients of one process: each connects, joins its own topic,
// answers to phoenix.js's heartbeat period and takes its turn at the timed
// `get`s; the node's RSS before, once all are held, and its peak.
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <iostream>
#include <string>
#include <vector>

#include "test/bench/bench_util.hpp"
#include "test/bench/ws_hold_parts.hpp"
#include "test/bench/ws_pool.hpp"

namespace chanstate::bench::ws_hold_detail {

namespace {

namespace json = boost::json;
constexpr std::int64_t ms = 1000;

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

} // namespace

hold_result hold_here(const ws_hold_options& o) {
  holder h{o};
  hold_result out;
  out.report = h.run();
  out.get_us = std::move(h.get_lat);
  out.heartbeat_us = std::move(h.hb_lat);
  return out;
}

} // namespace chanstate::bench::ws_hold_detail
