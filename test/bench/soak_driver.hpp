// The soak scenario's driver: a model per client, steady traffic, storms,
// checks and the node's memory. Runs on the one thread of the ws_pool, so
// nothing here is shared between threads. Its parts: soak_driver.cpp (the
// run and its storms), soak_client_ops.cpp (what a client sends),
// soak_replies.cpp (what it makes of the answers), soak_report.cpp
// (counting and the final JSON line).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "test/bench/soak.hpp"
#include "test/bench/soak_client.hpp"
#include "test/bench/soak_model.hpp"
#include "test/bench/ws_pool.hpp"

namespace chanstate::bench::soak_detail {

namespace json = boost::json;

/// A JSON string's text, empty for any other value.
inline std::string str(const json::value& v) {
  return v.is_string() ? std::string{v.get_string()} : std::string{};
}

/// The soak of one generator process: its clients, their storms and checks.
class soak_driver : public ws_pool_handler {
public:
  /// Throws std::invalid_argument for a bad URL (from ws_pool).
  explicit soak_driver(const soak_options& o);
  /// Runs until every client closed after the final check, the close
  /// deadline passed or the node died; returns the report.
  soak_result run();

  // --- ws_pool_handler ----------------------------------------------------

  void on_open(int id) override;
  void on_text(int id, std::string_view text) override;
  void on_end(int id, const ws_end& how) override;
  void on_tick() override;

private:
  client& at(int id) {
    return clients_[static_cast<std::size_t>(id)];
  }

  // --- chaos --------------------------------------------------------------

  bool node_down() const {
    return o_.chaos && kills_seen_ != ups_seen_;
  }

  void poll_chaos(std::int64_t now);

  // --- the run's phases ---------------------------------------------------

  void control(std::int64_t now);
  void start_storm(std::int64_t now, bool final);
  void finish_storm(std::int64_t now);
  void stop_all(std::int64_t now);

  // --- one client ---------------------------------------------------------

  void step(client& c, std::int64_t now);
  void steady_op(client& c, std::int64_t now);

  /// Every path back to `ready` comes through here: a storm's action or
  /// check goes out as soon as the client is free for it.
  void after_ready(client& c, std::int64_t now);
  void add_then_crash(client& c, std::int64_t now);
  /// One add, kept in the model's `sent` until a check settles it.
  void send_add(client& c, std::int64_t now);
  void crash(client& c, std::int64_t now);
  void connect(client& c, std::int64_t now);
  void send_join(client& c, std::int64_t now);
  void send_get(client& c, std::int64_t now, bool storm_check);
  void start_leave(client& c, std::int64_t now);
  void send(client& c, std::string text, std::int64_t now, bool event = true);
  static std::string next_ref(client& c) {
    return std::to_string(++c.ref);
  }

  void pick_leave_at(client& c);
  void become_ready(client& c, std::int64_t now);

  /// What the model may still expect once a connection is gone: frames in
  /// flight may be lost, and a leave may or may not have happened.
  void lose_connection(client& c);

  // --- frames -------------------------------------------------------------

  void on_reply(client& c, const std::string& jr, const std::string& ref,
                const json::value& payload, std::int64_t now);
  void on_join_reply(client& c, const std::string& status,
                     const json::object* response, std::int64_t now);
  void on_get_reply(client& c, const std::string& status,
                    const json::object* response, std::int64_t now);
  void on_channel_error(client& c, std::int64_t now);
  void on_unexpected_end(client& c, const std::string& what,
                         std::int64_t now);
  void judge(client& c, const json::array& ns, soak_expect how);
  void fail(client& c);

  // --- counting -----------------------------------------------------------

  void error(client& c, const std::string& what);

  // This process reached its limit on open files (ulimit -n): the
  // generator failed, not the node. Said once, as an error.
  void generator_out_of_fds();
  void error_global(const std::string& what);
  void sample_rss(std::int64_t now);
  soak_result report();
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

} // namespace chanstate::bench::soak_detail
