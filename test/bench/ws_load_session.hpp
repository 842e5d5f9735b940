// One client of the ws scenario (a native Phoenix v2 client over Beast) and
// the run all clients share: barriers, samples, errors. Included by
// ws_load.cpp alone (a Beast TU compiles slowly); no CAF here.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "test/bench/bench_util.hpp"
#include "test/bench/ws_beast.hpp"
#include "test/bench/ws_load.hpp"
#include "test/bench/ws_url.hpp"

namespace chanstate::bench::ws_detail {

namespace json = boost::json;

/// The phases every client passes; a barrier closes each one.
enum barrier_id : int { b_ready = 0, b_gets, b_crash, b_closed, b_count };

class session;

/// Shared by all sessions: barriers, samples, errors.
struct ws_run {
  ws_options opts;
  parsed_url url;
  tcp::resolver::results_type endpoints;
  std::string id_prefix;
  std::vector<std::shared_ptr<session>> sessions;
  std::atomic<int> arrived[b_count] = {};
  std::atomic<std::int64_t> phase_start[b_count] = {};
  std::atomic<std::int64_t> phase_end[b_count] = {};
  std::atomic<std::int64_t> errors{0};
  std::atomic<std::int64_t> lost{0};
  std::atomic<std::int64_t> stale{0};
  std::mutex mx;
  std::string first_error;
  double cpu_at_gets = 0;
  double cpu_after_gets = 0;

  void error(const std::string& what) {
    errors.fetch_add(1);
    std::lock_guard<std::mutex> g{mx};
    if (first_error.empty())
      first_error = what;
  }

  /// Counts one session through barrier `b`; the last one starts the next
  /// phase for everybody.
  void arrive(int b);
};

class session : public std::enable_shared_from_this<session> {
public:
  // `ioc` is run by one thread (--threads=T gives T io_contexts): no
  // strand needed, and a strand costs a lock and a queue hop per
  // completion.
  session(net::io_context& ioc, ws_run& run, int index)
    : ws_(ioc.get_executor()),
      run_(run),
      index_(index) {
    topic_ = "room:" + std::to_string(index);
    client_id_ = run.id_prefix + std::to_string(index);
    get_lat_.reserve(static_cast<std::size_t>(std::max(run.opts.requests, 0)));
  }

  void start() {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds{30});
    beast::get_lowest_layer(ws_).async_connect(
      run_.endpoints,
      [self = shared_from_this()](beast::error_code ec,
                                  const tcp::endpoint&) {
        self->on_connect(ec);
      });
  }

  /// Runs on the session's io_context thread once every client is ready.
  void start_phase(int b) {
    if (failed_)
      return;
    switch (b) {
      case b_gets:
        send_get();
        break;
      case b_crash:
        at_ = at_crash_sent;
        send(phx_frame(jr_, next_ref(), topic_, "oopsy", "{}"));
        break;
      case b_closed:
        close();
        break;
      default:
        break;
    }
  }

  executor get_executor() {
    return ws_.get_executor();
  }

  const std::vector<std::int64_t>& get_latencies() const {
    return get_lat_;
  }

  std::int64_t recovery_us() const {
    return recovered_us_;
  }

  bool failed() const {
    return failed_;
  }

private:
  enum phase {
    at_joining,
    at_adding,
    at_ready,
    at_getting,
    at_crash_sent,
    at_rejoining,
    at_checking,
    at_recovered,
    at_closing,
  };

  std::string next_ref() {
    return std::to_string(++ref_);
  }

  void fail(const std::string& what) {
    if (failed_)
      return;
    failed_ = true;
    run_.error("client " + std::to_string(index_) + ": " + what);
    // Keep the other clients moving: pass every barrier not yet passed.
    for (int b = passed_; b < b_count; ++b)
      if (b != b_crash || run_.opts.crash)
        run_.arrive(b);
    passed_ = b_count;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  void pass(int b) {
    passed_ = b + 1;
    run_.arrive(b);
  }

  void on_connect(beast::error_code ec) {
    if (ec)
      return fail("connect: " + ec.message());
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(
      websocket::stream_base::timeout::suggested(beast::role_type::client));
    auto target = run_.url.path + "?client_id=" + client_id_ + "&vsn=2.0.0";
    ws_.async_handshake(run_.url.host + ":" + run_.url.port, target,
                        [self = shared_from_this()](beast::error_code ec) {
                          self->on_handshake(ec);
                        });
  }

  void on_handshake(beast::error_code ec) {
    if (ec)
      return fail("handshake: " + ec.message());
    ws_.text(true);
    read();
    join();
  }

  void join() {
    jr_ = next_ref();
    ref_prefix_ = "[\"" + jr_ + "\",\""; // a frame up to its ref
    send(phx_frame(jr_, jr_, topic_, "phx_join", "{}"));
  }

  void send(std::string msg) {
    out_.push_back(std::move(msg));
    if (out_.size() == 1)
      write_next();
  }

  void write_next() {
    ws_.async_write(net::buffer(out_.front()),
                    [self = shared_from_this()](beast::error_code ec,
                                                std::size_t) {
                      if (ec)
                        return self->fail("write: " + ec.message());
                      self->out_.pop_front();
                      if (!self->out_.empty())
                        self->write_next();
                    });
  }

  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec,
                                                     std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (at_ == at_closing && (ec == websocket::error::closed))
        return;
      if (at_ == at_closing || failed_)
        return;
      return fail("read: " + ec.message());
    }
    auto data = buf_.cdata();
    raw_ = {static_cast<const char*>(data.data()), data.size()};
    if (at_ == at_getting && fast_get_reply()) {
      buf_.consume(buf_.size());
      if (!failed_)
        read();
      return;
    }
    json::error_code jec;
    parser_.reset();
    parser_.write(raw_.data(), raw_.size(), jec);
    if (jec) {
      buf_.consume(buf_.size());
      return fail("bad frame: " + jec.message());
    }
    auto v = parser_.release();
    if (!v.is_array() || v.get_array().size() != 5) {
      buf_.consume(buf_.size());
      return fail("frame is not a 5-element array");
    }
    on_frame(v.get_array());
    buf_.consume(buf_.size());
    if (!failed_ && at_ != at_closing)
      read();
  }

  // Where the frame's ref ends, if `raw_` is ["<jr>","<pending_>"...
  std::size_t after_pending_ref() const {
    const auto& prefix = ref_prefix_;
    auto n = prefix.size() + pending_.size();
    if (raw_.size() <= n || raw_.compare(0, prefix.size(), prefix) != 0
        || raw_.compare(prefix.size(), pending_.size(), pending_) != 0
        || raw_[n] != '"')
      return std::string_view::npos;
    return n;
  }

  // A get reply byte for byte equal, past its ref, to one that was parsed
  // and checked: the same reply, so neither a JSON DOM nor a comparison
  // of lists is needed. Anything else takes the full check.
  bool fast_get_reply() {
    if (get_tail_.empty())
      return false;
    auto at = after_pending_ref();
    if (at == std::string_view::npos || raw_.substr(at) != get_tail_)
      return false;
    got_reply(now_us());
    return true;
  }

  // A get reply arrived at `t` (checked or counted as an error): the next
  // get, or the barrier after the last.
  void got_reply(std::int64_t t) {
    get_lat_.push_back(t - sent_at_);
    if (static_cast<int>(get_lat_.size()) < run_.opts.requests)
      send_get();
    else
      pass(b_gets);
  }

  static std::string str(const json::value& v) {
    return v.is_string() ? std::string{v.get_string()} : std::string{};
  }

  /// The reply's response.ns, or nullptr; `status` gets the status.
  static const json::value* reply_ns(const json::value& payload,
                                     std::string& status) {
    if (!payload.is_object())
      return nullptr;
    const auto& p = payload.get_object();
    if (auto s = p.if_contains("status"); s && s->is_string())
      status = std::string{s->get_string()};
    auto r = p.if_contains("response");
    if (!r || !r->is_object())
      return nullptr;
    return r->get_object().if_contains("ns");
  }

  void on_frame(const json::array& f) {
    auto ref = str(f[1]);
    const auto& event = f[3];
    bool is_reply = event.is_string() && event.get_string() == "phx_reply";
    bool is_error = event.is_string() && event.get_string() == "phx_error";
    std::string status;
    switch (at_) {
      case at_joining:
      case at_rejoining: {
        if (!is_reply || ref != jr_)
          return; // a late phx_close of an older join, a push, ...
        auto ns = reply_ns(f[4], status);
        if (status != "ok")
          return fail("join refused: " + json::serialize(f[4]));
        if (at_ == at_joining) {
          // A fresh join of the demo channel says ns: [] (or nothing).
          if (ns && ns->is_array())
            expected_ = ns->get_array();
          at_ = at_adding;
          for (int i = 0; i < run_.opts.adds; ++i) {
            auto n = 1000 + index_ * 10 + i;
            expected_.push_back(n);
            send(phx_frame(jr_, next_ref(), topic_, "add",
                       "{\"n\":" + std::to_string(n) + "}"));
          }
          at_ = at_ready;
          pass(b_ready);
        } else {
          // The join reply already carries the restored list; the get
          // afterwards checks that the channel serves it.
          at_ = at_checking;
          send_get();
        }
        return;
      }
      case at_getting:
      case at_checking: {
        if (!is_reply || ref != pending_)
          return;
        auto t = now_us();
        auto ns = reply_ns(f[4], status);
        bool ok = status == "ok" && ns && ns->is_array()
                  && ns->get_array() == expected_;
        if (at_ == at_getting) {
          if (!ok)
            run_.error("client " + std::to_string(index_)
                       + ": wrong get reply " + json::serialize(f[4]));
          else if (get_tail_.empty()) {
            auto at = after_pending_ref();
            if (at != std::string_view::npos)
              get_tail_ = std::string{raw_.substr(at)};
          }
          got_reply(t);
        } else {
          recovered_us_ = t - run_.phase_start[b_crash].load();
          if (!ok) {
            bool empty = ns && ns->is_array() && ns->get_array().empty();
            (empty ? run_.lost : run_.stale).fetch_add(1);
          }
          at_ = at_recovered;
          pass(b_crash);
        }
        return;
      }
      case at_crash_sent:
        if (is_error && str(f[0]) == jr_) {
          at_ = at_rejoining;
          join();
        }
        return;
      default:
        return;
    }
  }

  void send_get() {
    at_ = at_ == at_checking ? at_checking : at_getting;
    if (run_.opts.requests == 0 && at_ == at_getting) {
      pass(b_gets);
      return;
    }
    pending_ = next_ref();
    sent_at_ = now_us();
    send(phx_frame(jr_, pending_, topic_, "get", "{}"));
  }

  void close() {
    at_ = at_closing;
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code ec) {
                      if (ec && ec != websocket::error::closed
                          && ec != net::error::operation_aborted)
                        self->run_.error("close: " + ec.message());
                      self->pass(b_closed);
                    });
  }

  ws_stream ws_;
  ws_run& run_;
  int index_;
  std::string topic_;
  std::string client_id_;
  std::string jr_;
  std::string ref_prefix_;
  std::string pending_;
  std::uint64_t ref_ = 0;
  phase at_ = at_joining;
  int passed_ = 0;
  bool failed_ = false;
  beast::flat_buffer buf_;
  std::string_view raw_; // the frame being handled, in buf_
  // What follows the ref in a checked get reply (see fast_get_reply).
  std::string get_tail_;
  json::parser parser_;
  std::deque<std::string> out_;
  json::array expected_;
  std::int64_t sent_at_ = 0;
  std::int64_t recovered_us_ = -1;
  std::vector<std::int64_t> get_lat_;
};

} // namespace chanstate::bench::ws_detail
