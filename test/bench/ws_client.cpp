// The ws scenario: a native Phoenix v2 client over Beast. The only TU with
// Beast in it (a Beast TU compiles slowly); no CAF here.
#include "test/bench/ws_client.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "test/bench/bench_util.hpp"

namespace chanstate::bench {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;
// Every connection lives on one io_context run by one thread, so its
// handlers need no strand, and the stream names the io_context's executor
// type instead of any_io_executor: the type-erased executor (copied,
// queried and destroyed on every read and write) and its reference counts
// were about a quarter of the generator's CPU (perf).
using executor = net::io_context::executor_type;
using ws_stream = websocket::stream<beast::basic_stream<tcp, executor>>;

struct parsed_url {
  std::string host;
  std::string port;
  std::string path;
};

parsed_url parse_url(const std::string& url) {
  const std::string scheme = "ws://";
  if (url.rfind(scheme, 0) != 0)
    throw std::invalid_argument("--url must start with ws://, got " + url);
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  parsed_url u;
  u.path = slash == std::string::npos ? "/socket" : rest.substr(slash);
  if (auto q = u.path.find('?'); q != std::string::npos)
    u.path.erase(q);
  while (u.path.size() > 1 && u.path.back() == '/')
    u.path.pop_back();
  // phoenix.js appends the transport to the endpoint; accept either form.
  const std::string transport = "/websocket";
  if (u.path.size() < transport.size()
      || u.path.compare(u.path.size() - transport.size(), transport.size(),
                        transport)
           != 0)
    u.path += transport;
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    u.host = hostport;
    u.port = "80";
  } else {
    u.host = hostport.substr(0, colon);
    u.port = hostport.substr(colon + 1);
  }
  if (u.host.empty())
    throw std::invalid_argument("--url has no host: " + url);
  return u;
}

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

  /// Runs on the session's strand once every client is ready.
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

// --- ws_pool: the soak scenario's connections ------------------------------
// One io_context run by one thread: no strands, and every callback of the
// handler runs on that thread. A slot holds at most one connection; a
// connection that is no longer its slot's (dropped, replaced) reports
// nothing more.

struct ws_pool::impl {
  struct conn {
    conn(net::io_context& ioc, int slot) : ws(ioc.get_executor()), id(slot) {
    }
    ws_stream ws;
    int id;
    beast::flat_buffer buf;
    std::deque<std::string> out;
    websocket::response_type res;
    bool open = false;
    bool closing = false;
    bool ended = false;
  };
  using conn_ptr = std::shared_ptr<conn>;

  impl(const std::string& u, ws_pool_handler& h, std::chrono::milliseconds t)
    : url(parse_url(u)), handler(h), tick(t), timer(ioc) {
    tcp::resolver resolver{ioc};
    beast::error_code ec;
    endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec)
      throw std::invalid_argument("resolve " + url.host + ": "
                                  + ec.message());
  }

  ~impl() {
    timer.cancel();
    for (auto& c : slots)
      if (c)
        kill_socket(*c, false);
    slots.clear();
    // Let the aborted handlers run (they find no slot and stop) while the
    // handler object is still alive.
    ioc.restart();
    ioc.poll();
  }

  bool current(const conn& c) const {
    return !c.ended && c.id >= 0
           && static_cast<std::size_t>(c.id) < slots.size()
           && slots[static_cast<std::size_t>(c.id)].get() == &c;
  }

  static void kill_socket(conn& c, bool reset) {
    c.ended = true;
    beast::error_code ignored;
    auto& sock = beast::get_lowest_layer(c.ws).socket();
    if (reset)
      sock.set_option(net::socket_base::linger(true, 0), ignored);
    sock.close(ignored);
  }

  void end(conn& c, ws_end how) {
    if (!current(c))
      return;
    c.ended = true;
    auto keep = std::move(slots[static_cast<std::size_t>(c.id)]);
    kill_socket(c, false);
    handler.on_end(c.id, how);
  }

  void open(int id, const std::string& query) {
    if (static_cast<std::size_t>(id) >= slots.size())
      slots.resize(static_cast<std::size_t>(id) + 1);
    drop(id, false);
    auto c = std::make_shared<conn>(ioc, id);
    slots[static_cast<std::size_t>(id)] = c;
    beast::get_lowest_layer(c->ws).expires_after(std::chrono::seconds{30});
    beast::get_lowest_layer(c->ws).async_connect(
      endpoints, [this, c, query](beast::error_code ec, const tcp::endpoint&) {
        if (!current(*c))
          return;
        if (ec)
          return end(*c, {"connect: " + ec.message()});
        beast::get_lowest_layer(c->ws).socket().set_option(
          tcp::no_delay(true));
        beast::get_lowest_layer(c->ws).expires_never();
        c->ws.set_option(
          websocket::stream_base::timeout::suggested(beast::role_type::client));
        c->ws.async_handshake(c->res, url.host + ":" + url.port,
                              url.path + "?" + query,
                              [this, c](beast::error_code ec) {
                                on_handshake(c, ec);
                              });
      });
  }

  void on_handshake(const conn_ptr& c, beast::error_code ec) {
    if (!current(*c))
      return;
    if (ec == websocket::error::upgrade_declined) {
      ws_end how{"refused"};
      how.http_status = static_cast<int>(c->res.result_int());
      auto ra = c->res[beast::http::field::retry_after];
      if (!ra.empty()) {
        try {
          how.retry_after_ms = std::stoll(std::string{ra}) * 1000;
        } catch (const std::exception&) {
          how.retry_after_ms = -1;
        }
      }
      return end(*c, how);
    }
    if (ec)
      return end(*c, {"handshake: " + ec.message()});
    c->open = true;
    c->ws.text(true);
    read(c);
    handler.on_open(c->id);
  }

  void read(const conn_ptr& c) {
    c->ws.async_read(c->buf, [this, c](beast::error_code ec, std::size_t) {
      if (!current(*c))
        return;
      if (ec) {
        ws_end how;
        if (ec == websocket::error::closed) {
          how.why = c->closing ? "closed" : "server_close";
          how.close_code = static_cast<int>(c->ws.reason().code);
        } else {
          how.why = c->closing ? "closed" : "read: " + ec.message();
        }
        return end(*c, how);
      }
      auto data = c->buf.cdata();
      handler.on_text(c->id,
                      std::string_view{static_cast<const char*>(data.data()),
                                       data.size()});
      c->buf.consume(c->buf.size());
      if (current(*c))
        read(c);
    });
  }

  void send(int id, std::string text) {
    auto c = find(id);
    if (!c || !c->open || c->closing)
      return;
    c->out.push_back(std::move(text));
    if (c->out.size() == 1)
      write_next(c);
  }

  void write_next(const conn_ptr& c) {
    c->ws.async_write(net::buffer(c->out.front()),
                      [this, c](beast::error_code ec, std::size_t) {
                        if (!current(*c))
                          return;
                        if (ec)
                          return end(*c, {"write: " + ec.message()});
                        c->out.pop_front();
                        if (!c->out.empty())
                          write_next(c);
                        else if (c->closing)
                          send_close(c);
                      });
  }

  void close(int id) {
    auto c = find(id);
    if (!c || c->closing)
      return;
    c->closing = true;
    if (!c->open) {
      // Still connecting: there is no WebSocket to close yet.
      return end(*c, {"closed"});
    }
    if (c->out.empty())
      send_close(c);
  }

  void send_close(const conn_ptr& c) {
    c->ws.async_close(websocket::close_code::normal,
                      [this, c](beast::error_code ec) {
                        if (!current(*c))
                          return;
                        if (ec && ec != websocket::error::closed)
                          return end(*c, {"close: " + ec.message()});
                        end(*c, {"closed"});
                      });
  }

  void drop(int id, bool reset) {
    auto c = find(id);
    if (!c)
      return;
    slots[static_cast<std::size_t>(id)].reset();
    kill_socket(*c, reset);
  }

  conn_ptr find(int id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= slots.size())
      return nullptr;
    return slots[static_cast<std::size_t>(id)];
  }

  void arm() {
    timer.expires_after(tick);
    timer.async_wait([this](beast::error_code ec) {
      if (ec || ioc.stopped())
        return;
      handler.on_tick();
      arm();
    });
  }

  net::io_context ioc{1};
  parsed_url url;
  tcp::resolver::results_type endpoints;
  ws_pool_handler& handler;
  std::chrono::milliseconds tick;
  net::steady_timer timer;
  std::vector<conn_ptr> slots;
};

ws_pool::ws_pool(const std::string& url, ws_pool_handler& handler,
                 std::chrono::milliseconds tick)
  : impl_(std::make_unique<impl>(url, handler, tick)) {
}

ws_pool::~ws_pool() = default;

void ws_pool::open(int id, const std::string& query) {
  impl_->open(id, query);
}

void ws_pool::send(int id, std::string text) {
  impl_->send(id, std::move(text));
}

void ws_pool::drop(int id, bool reset) {
  impl_->drop(id, reset);
}

void ws_pool::close(int id) {
  impl_->close(id);
}

void ws_pool::run() {
  impl_->arm();
  impl_->ioc.run();
}

void ws_pool::stop() {
  impl_->ioc.stop();
}

} // namespace chanstate::bench
