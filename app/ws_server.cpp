// The only Beast translation unit: HTTP upgrade, WebSocket I/O, /stats,
// /metrics, /healthz, /readyz and the demo page, over plain TCP or TLS
// (one template, two streams).
// Protocol rules live in phoenix_session; actors are reached through the
// bridge (bridge.hpp). Never `using namespace caf` here: with Asio's
// namespaces, `error`, `string_view` and `span` become ambiguous.
#include <chanstate/endpoint/ws_server.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <iostream>
#include <mutex>
#include <optional>
#include <type_traits>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/serialize.hpp>

#include <chanstate/actors/channel_error.hpp>
#include <chanstate/endpoint/bridge.hpp>
#include <chanstate/endpoint/connect_params.hpp>
#include <chanstate/endpoint/log.hpp>
#include <chanstate/endpoint/metrics.hpp>
#include <chanstate/endpoint/phoenix_session.hpp>
#include <chanstate/endpoint/transport_counters.hpp>
#include <chanstate/endpoint/web_assets.hpp>

namespace chanstate {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

/// What shutdown needs of an upgraded connection, whatever its stream.
class live_connection : public bridge_sink {
public:
  virtual const net::any_io_executor& executor() const = 0;

  /// The node stops: channels end with user_shutdown, the socket closes.
  virtual void shutdown() = 0;
};

/// Counts the actors that may post into the io_context, so that the server
/// is destroyed only after the last one ended (bridges hold no strong ref).
struct actor_tracker {
  std::mutex mtx;
  std::condition_variable cv;
  std::size_t live = 0;

  void done() {
    std::lock_guard<std::mutex> guard{mtx};
    if (--live == 0)
      cv.notify_all();
  }
};

/// What every connection of one server shares.
struct server_shared {
  server_shared(caf::actor_system& sys, channel_env env, endpoint_options opts,
                std::shared_ptr<const readiness> ready)
    : sys(sys),
      env(std::move(env)),
      opts(std::move(opts)),
      ready(std::move(ready)) {
  }

  caf::actor_system& sys;
  channel_env env;
  endpoint_options opts;
  std::shared_ptr<const readiness> ready;
  transport_counters counters;
  join_limiter joins{opts.join_rate};
  std::mutex live_mtx;
  std::vector<std::weak_ptr<live_connection>> live; // for shutdown
  /// Set with --tls-cert/--tls-key: every connection starts with a TLS
  /// handshake.
  std::optional<net::ssl::context> tls;
  std::shared_ptr<actor_tracker> tracker = std::make_shared<actor_tracker>();

  caf::actor track(caf::actor a) {
    {
      std::lock_guard<std::mutex> guard{tracker->mtx};
      ++tracker->live;
    }
    // Runs at once if `a` is already gone.
    a->attach_functor([t = tracker] { t->done(); });
    return a;
  }

  void add_live(std::weak_ptr<live_connection> c) {
    std::lock_guard<std::mutex> guard{live_mtx};
    live.erase(std::remove_if(live.begin(), live.end(),
                              [](const auto& w) { return w.expired(); }),
               live.end());
    live.push_back(std::move(c));
  }
};

/// One upgraded connection: read loop, write queue, the Phoenix session.
/// Every member runs on the connection's strand.
template <class Stream>
class ws_connection
  : public live_connection,
    public std::enable_shared_from_this<ws_connection<Stream>> {
public:
  ws_connection(Stream&& stream, server_shared& shared,
                std::string client_id,
                std::shared_ptr<const boost::json::object> claims)
    : ws_(std::move(stream)),
      strand_(ws_.get_executor()),
      shared_(shared),
      client_id_(std::move(client_id)),
      claims_(std::move(claims)) {
  }

  void start(http::request<http::string_body> req) {
    beast::get_lowest_layer(ws_).expires_never(); // the websocket times out
    websocket::stream_base::timeout t;
    t.handshake_timeout = shared_.opts.handshake_timeout;
    t.idle_timeout = shared_.opts.idle_timeout.count() > 0
                       ? beast::websocket::stream_base::duration{
                         shared_.opts.idle_timeout}
                       : websocket::stream_base::none();
    // No pings of our own: a pong would count as activity, and Phoenix's
    // timeout is about frames the client sends.
    t.keep_alive_pings = false;
    ws_.set_option(t);
    // The frame limit is ours (see do_read), not Beast's.
    ws_.read_message_max(0);
    // phoenix.js offers "phoenix" when it sends an auth token; the answer
    // must then name it, or the client aborts the handshake.
    bool phoenix_proto = offers_subprotocol(
      sv(req[http::field::sec_websocket_protocol]), "phoenix");
    ws_.set_option(websocket::stream_base::decorator(
      [phoenix_proto](websocket::response_type& res) {
        res.set(http::field::server, "chanstate-node");
        if (phoenix_proto)
          res.set(http::field::sec_websocket_protocol, "phoenix");
      }));
    ws_.async_accept(req, beast::bind_front_handler(&ws_connection::on_accept,
                                                    this->shared_from_this()));
  }

  const net::any_io_executor& executor() const override {
    return strand_;
  }

  void shutdown() override {
    finish(transport_end::shutdown, close_cause::shutdown);
    abort_socket();
  }

  void deliver(caf::actor_addr from, outbound_frame f) override {
    net::post(strand_, [self = this->shared_from_this(), from = std::move(from),
                        f = std::move(f)]() mutable {
      if (self->session_)
        self->session_->on_channel_frame(from, std::move(f));
    });
  }

  void channel_down(caf::actor_addr channel, caf::error reason) override {
    net::post(strand_, [self = this->shared_from_this(), ch = std::move(channel),
                        reason = std::move(reason)] {
      if (self->session_)
        self->session_->on_channel_down(ch, reason);
    });
  }

private:
  void on_accept(beast::error_code ec) {
    if (ec)
      return; // the handshake failed: nothing was joined yet
    auto& c = shared_.counters;
    // Counted here, on the one io thread, so no two accepts race past it.
    if (c.connections_open.load(std::memory_order_relaxed)
        >= shared_.opts.max_connections) {
      c.connections_refused.fetch_add(1, std::memory_order_relaxed);
      log_limited(spdlog::level::warn, "connection_refused",
                  "connection refused: --max-connections reached",
                  {{"reason", "connection_limit"},
                   {"max_connections", shared_.opts.max_connections}});
      ws_.async_close({websocket::close_code::try_again_later,
                       "too many connections"},
                      [self = this->shared_from_this()](beast::error_code) {});
      return;
    }
    c.connections_open.fetch_add(1, std::memory_order_relaxed);
    c.connections_total.fetch_add(1, std::memory_order_relaxed);
    opened_ = true;
    ws_.text(true);
    std::weak_ptr<bridge_sink> sink = this->shared_from_this();
    session_.emplace(shared_.sys, shared_.env, client_id_,
                     shared_.track(spawn_bridge(shared_.sys, std::move(sink))),
                     shared_.opts.max_channels, shared_.joins,
                     shared_.counters,
                     [this](std::string text) { enqueue(std::move(text)); },
                     claims_);
    shared_.add_live(this->weak_from_this());
    do_read();
  }

  // Reads a message piece by piece so that we, not Beast, enforce the
  // size limit. Beast's own limit (read_message_max) fails the connection
  // and its TCP teardown in Boost 1.81 stops draining after one read, so a
  // client still uploading the oversized message gets a reset instead of
  // close 1009. async_close instead drains the rest of the message and
  // waits for the client's close, bounded by the handshake timeout.
  void do_read() {
    auto room = shared_.opts.max_frame_bytes + 1 - buffer_.size();
    ws_.async_read_some(buffer_, std::min(room, read_chunk_bytes),
                        beast::bind_front_handler(&ws_connection::on_read,
                                                  this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t n) {
    if (ec) {
      on_read_error(ec);
      return;
    }
    shared_.counters.bytes_in.fetch_add(n, std::memory_order_relaxed);
    if (closing_)
      return;
    if (buffer_.size() > shared_.opts.max_frame_bytes) {
      buffer_.clear();
      buffer_.shrink_to_fit();
      close_with({static_cast<std::uint16_t>(websocket::close_code::too_big),
                  "message too big"},
                 close_cause::too_big);
      return;
    }
    if (!ws_.is_message_done()) {
      do_read();
      return;
    }
    if (!ws_.got_text()) {
      close_with({static_cast<std::uint16_t>(websocket::close_code::unknown_data),
                  "binary frames are not supported"},
                 close_cause::binary_frame);
      return;
    }
    auto data = buffer_.data();
    auto result = session_->on_text(
      {static_cast<const char*>(data.data()), data.size()});
    buffer_.consume(buffer_.size());
    if (result) {
      close_with(std::move(*result), close_cause::bad_frame);
      return;
    }
    if (!closing_)
      do_read();
  }

  void on_read_error(beast::error_code ec) {
    if (ec == websocket::error::closed) {
      // phoenix.js closes with this reason when we missed its heartbeat:
      // it reconnects and rejoins, so its channels keep their state.
      if (ws_.reason().reason == "heartbeat timeout")
        finish(transport_end::lost, close_cause::client_heartbeat);
      else
        finish(transport_end::clean, close_cause::client_close);
    } else if (ec == beast::error::timeout) {
      finish(transport_end::lost, close_cause::idle_timeout);
    } else if (ec == websocket::error::bad_frame_payload) {
      // Text that is not UTF-8: Beast has already sent close 1007.
      finish(transport_end::lost, close_cause::bad_frame);
    } else {
      finish(transport_end::lost, close_cause::connection_lost);
    }
  }

  // Queues one text frame; called by the session, on the strand.
  void enqueue(std::string text) {
    if (closing_) {
      shared_.counters.outbound_frames_dropped.fetch_add(
        1, std::memory_order_relaxed);
      return;
    }
    if (!queue_.empty()
        && queued_bytes_ + text.size() > shared_.opts.max_outbound_bytes) {
      // Not from inside the session's call: it may be mid-dispatch.
      closing_ = true;
      shared_.counters.outbound_frames_dropped.fetch_add(
        1, std::memory_order_relaxed);
      net::post(strand_, [self = this->shared_from_this()] {
        self->finish(transport_end::lost, close_cause::backpressure);
        self->abort_socket();
      });
      return;
    }
    queued_bytes_ += text.size();
    queue_.push_back(std::move(text));
    if (!writing_)
      do_write();
  }

  void do_write() {
    writing_ = true;
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&ws_connection::on_write,
                                              this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t n) {
    writing_ = false;
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    if (ec) {
      finish(transport_end::lost, close_cause::connection_lost);
      abort_socket();
      return;
    }
    shared_.counters.bytes_out.fetch_add(n, std::memory_order_relaxed);
    if (!queue_.empty() && !closing_)
      do_write();
  }

  // A close we start because of what the client sent: the channels keep
  // their state (the client will reconnect), the client learns why.
  void close_with(protocol_close c, close_cause cause) {
    finish(transport_end::lost, cause);
    ws_.async_close(websocket::close_reason{
                      static_cast<websocket::close_code>(c.code), c.reason},
                    [self = this->shared_from_this()](beast::error_code) {});
  }

  void abort_socket() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  // Ends the session exactly once; the first cause is the one counted.
  void finish(transport_end how, close_cause cause) {
    closing_ = true;
    if (finished_ || !opened_)
      return;
    finished_ = true;
    shared_.counters.count_close(cause);
    shared_.counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
    if (session_)
      session_->end(how);
  }

  static constexpr std::size_t read_chunk_bytes = 64 * 1024;

  websocket::stream<Stream> ws_;
  net::any_io_executor strand_;
  server_shared& shared_;
  std::string client_id_;
  std::shared_ptr<const boost::json::object> claims_;
  beast::flat_buffer buffer_;
  std::optional<phoenix_session> session_;
  std::deque<std::string> queue_; // front() is being written
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool opened_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

beast::tcp_stream open_stream(tcp::socket&& s, server_shared&,
                              const beast::tcp_stream*) {
  return beast::tcp_stream{std::move(s)};
}

tls_stream open_stream(tcp::socket&& s, server_shared& shared,
                       const tls_stream*) {
  return tls_stream{std::move(s), *shared.tls};
}

/// An HTTP connection (after its TLS handshake, with TLS): answers one
/// request or hands it to a ws_connection as an upgrade.
template <class Stream>
class http_session
  : public std::enable_shared_from_this<http_session<Stream>> {
public:
  http_session(tcp::socket&& socket, server_shared& shared)
    : stream_(open_stream(std::move(socket), shared,
                          static_cast<const Stream*>(nullptr))),
      shared_(shared) {
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&http_session::start,
                                            this->shared_from_this()));
  }

private:
  void start() {
    if constexpr (is_tls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(
        shared_.opts.handshake_timeout);
      stream_.async_handshake(
        net::ssl::stream_base::server,
        beast::bind_front_handler(&http_session::on_handshake,
                                  this->shared_from_this()));
    } else {
      do_read();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      // A plain-HTTP client, an untrusted certificate, a port scan.
      shared_.counters.tls_handshakes_failed.fetch_add(
        1, std::memory_order_relaxed);
      return;
    }
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(16 * 1024);
    beast::get_lowest_layer(stream_).expires_after(
      shared_.opts.handshake_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read,
                                               this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return; // closed, timed out or malformed: nothing to answer
    auto req = parser_->release();
    auto target = split_target(sv(req.target()));
    if (req.method() != http::verb::get)
      return respond(http::status::bad_request, "only GET is served\n");
    if (target.path == "/stats" || target.path == "/metrics")
      return serve_stats(target.path == "/metrics");
    if (target.path == "/healthz")
      return respond(http::status::ok, "{\"status\":\"serving\"}\n",
                     "application/json");
    if (target.path == "/readyz")
      return serve_ready();
    if (target.path == "/socket/websocket")
      return upgrade(std::move(req), target.query);
    if (shared_.opts.demo_page)
      if (auto asset = find_web_asset(target.path))
        return serve_asset(*asset);
    respond(http::status::not_found,
            "not found; served: /socket/websocket, /stats, /metrics, "
            "/healthz, /readyz"
              + std::string{shared_.opts.demo_page ? ", / (demo page)" : ""}
              + "\n");
  }

  // The demo page's files; one missing at build time is explained, not 404.
  void serve_asset(const web_asset& a) {
    if (!a.missing.empty())
      return respond(http::status::internal_server_error,
                     std::string{a.missing});
    respond(http::status::ok, std::string{a.body}, a.content_type);
  }

  void upgrade(http::request<http::string_body> req, std::string_view query) {
    auto refuse = [&](http::status s, std::string why) {
      shared_.counters.upgrades_refused.fetch_add(1,
                                                  std::memory_order_relaxed);
      log_limited(spdlog::level::warn, "connection_refused",
                  "WebSocket upgrade refused",
                  {{"status", static_cast<int>(s)}, {"reason", why}});
      respond(s, std::move(why) + '\n');
    };
    if (!websocket::is_upgrade(req))
      return refuse(http::status::bad_request, "expected a WebSocket upgrade");
    if (!origin_allowed(shared_.opts.allowed_origins,
                        sv(req[http::field::origin])))
      return refuse(http::status::forbidden, "origin not allowed");
    connect_auth auth;
    std::shared_ptr<const std::vector<std::string>> secrets;
    if (shared_.opts.tokens) {
      secrets = shared_.opts.tokens->secrets();
      auth.secrets = secrets.get();
      auth.now = unix_now();
      auth.subprotocols = sv(req[http::field::sec_websocket_protocol]);
    }
    auto verdict = check_connect(query, shared_.opts.connect,
                                 sv(req[http::field::origin]), auth);
    if (verdict.auth) {
      // The body names the rule that failed, never the token.
      shared_.counters.upgrades_refused.fetch_add(1,
                                                  std::memory_order_relaxed);
      shared_.counters.count_auth_failure(*verdict.auth);
      return respond(http::status::forbidden,
                     boost::json::serialize(boost::json::object{
                       {"error", "unauthorized"},
                       {"reason", to_string(*verdict.auth)}})
                       + '\n',
                     "application/json");
    }
    if (verdict.status != 0)
      return refuse(static_cast<http::status>(verdict.status),
                    verdict.reason);
    std::make_shared<ws_connection<Stream>>(std::move(stream_), shared_,
                                    std::move(verdict.client_id),
                                    std::move(verdict.claims))
      ->start(std::move(req));
  }

  // /metrics renders the very document /stats serves, so the two agree.
  void serve_stats(bool as_metrics) {
    auto done = [self = this->shared_from_this(),
                 as_metrics](caf::expected<std::string> r) {
      // On a CAF worker: hand the answer to this session's strand.
      auto text = r ? std::move(*r) : "registry: " + explain(r.error());
      net::post(self->stream_.get_executor(),
                [self, as_metrics, text = std::move(text)] {
                  auto doc = stats_document(text, self->shared_.counters,
                                            self->shared_.env.counters.get(),
                                            self->shared_.ready.get());
                  if (as_metrics)
                    self->respond(http::status::ok, metrics_document(doc),
                                  metrics_content_type);
                  else
                    self->respond(http::status::ok, std::move(doc),
                                  "application/json");
                });
    };
    shared_.track(fetch_registry_stats(shared_.sys, shared_.env.registry,
                                       std::chrono::seconds{5},
                                       std::move(done)));
  }

  // For load balancers: answered on this thread, no actor involved.
  void serve_ready() {
    std::string body = "{\"ready\":true}\n";
    bool ok = !shared_.ready || shared_.ready->check(body);
    respond(ok ? http::status::ok : http::status::service_unavailable,
            std::move(body), "application/json");
  }

  void respond(http::status status, std::string body,
               const char* content_type = "text/plain") {
    res_.result(status);
    res_.version(11);
    res_.set(http::field::server, "chanstate-node");
    res_.set(http::field::content_type, content_type);
    res_.keep_alive(false);
    res_.body() = std::move(body);
    res_.prepare_payload();
    http::async_write(stream_, res_,
                      [self = this->shared_from_this()](beast::error_code,
                                                  std::size_t) {
                        // No TLS close_notify: the body has a length and
                        // the connection is not reused.
                        beast::error_code ignored;
                        beast::get_lowest_layer(self->stream_)
                          .socket()
                          .shutdown(tcp::socket::shutdown_send, ignored);
                      });
  }

  Stream stream_;
  server_shared& shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

} // namespace

struct ws_server::impl {
  impl(caf::actor_system& sys, channel_env env, endpoint_options opts,
       std::shared_ptr<const readiness> ready)
    : shared{sys, std::move(env), std::move(opts), std::move(ready)} {
  }

  void do_accept() {
    acceptor.async_accept(net::make_strand(ioc),
                          [this](beast::error_code ec, tcp::socket s) {
                            if (!acceptor.is_open())
                              return;
                            if (ec) {
                              on_accept_error();
                              return;
                            }
                            beast::error_code ignored;
                            s.set_option(tcp::no_delay{true}, ignored);
                            if (shared.tls)
                              std::make_shared<http_session<tls_stream>>(
                                std::move(s), shared)
                                ->run();
                            else
                              std::make_shared<
                                http_session<beast::tcp_stream>>(std::move(s),
                                                                 shared)
                                ->run();
                            do_accept();
                          });
  }

  // Out of descriptors (EMFILE) the pending connection stays queued and
  // accept fails again at once: pause instead of spinning the io thread.
  void on_accept_error() {
    shared.counters.accept_errors.fetch_add(1, std::memory_order_relaxed);
    log_limited(spdlog::level::err, "accept_error",
                "accepting a connection failed (out of descriptors?)");
    accept_pause.expires_after(std::chrono::milliseconds{50});
    accept_pause.async_wait([this](beast::error_code ec) {
      if (!ec && acceptor.is_open())
        do_accept();
    });
  }

  // SIGINT/SIGTERM: stop accepting, end every connection on its strand, then
  // stop the io_context once the last one is done.
  void stop_all() {
    beast::error_code ignored;
    acceptor.close(ignored);
    hangup.cancel(ignored);
    accept_pause.cancel();
    std::vector<std::shared_ptr<live_connection>> conns;
    {
      std::lock_guard<std::mutex> guard{shared.live_mtx};
      for (auto& w : shared.live)
        if (auto c = w.lock())
          conns.push_back(std::move(c));
    }
    auto left = std::make_shared<std::atomic<std::size_t>>(conns.size() + 1);
    auto one_done = [this, left] {
      if (left->fetch_sub(1) == 1)
        ioc.stop();
    };
    for (auto& c : conns)
      net::post(c->executor(), [c, one_done] {
        c->shutdown();
        one_done();
      });
    one_done();
  }

  // Declared first, destroyed last: connections still queued in the
  // io_context refer to it while the io_context is destroyed.
  server_shared shared;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer accept_pause{ioc};
  // Only when asked: a signal_set takes the signals over as it is built.
  std::optional<net::signal_set> signals;
  net::signal_set hangup{ioc};

  // SIGHUP re-reads the token secrets; a bad file keeps the old ones.
  void await_hangup() {
    hangup.async_wait([this](beast::error_code ec, int) {
      if (ec)
        return;
      auto& ring = *shared.opts.tokens;
      if (auto why = ring.reload(); !why.empty())
        std::cerr << "chanstate-node: SIGHUP: kept the token secrets: " << why
                  << '\n';
      else
        std::cerr << "chanstate-node: SIGHUP: reloaded "
                  << ring.secrets()->size() << " token secret(s) from "
                  << ring.path() << '\n';
      await_hangup();
    });
  }
};

ws_server::ws_server(caf::actor_system& sys, channel_env env,
                     endpoint_options opts,
                     std::shared_ptr<const readiness> ready)
  : impl_(std::make_unique<impl>(sys, std::move(env), std::move(opts),
                                 std::move(ready))) {
}

ws_server::~ws_server() = default;

caf::expected<std::string> ws_server::listen() {
  auto& opts = impl_->shared.opts;
  beast::error_code ec;
  tcp::resolver resolver{impl_->ioc};
  auto results = resolver.resolve(opts.host, std::to_string(opts.port),
                                  tcp::resolver::passive, ec);
  if (ec || results.empty())
    return caf::make_error(caf::sec::invalid_argument,
                           "cannot resolve host " + opts.host + ": "
                             + ec.message());
  if (!opts.tls_cert.empty()) {
    // Loaded before binding: a bad file fails the start, not every client.
    auto& ctx = impl_->shared.tls.emplace(net::ssl::context::tls_server);
    ctx.set_options(net::ssl::context::default_workarounds
                    | net::ssl::context::no_sslv2
                    | net::ssl::context::no_sslv3
                    | net::ssl::context::no_tlsv1
                    | net::ssl::context::no_tlsv1_1);
    ctx.use_certificate_chain_file(opts.tls_cert, ec);
    if (!ec)
      ctx.use_private_key_file(opts.tls_key, net::ssl::context::pem, ec);
    if (ec) {
      impl_->shared.tls.reset();
      return caf::make_error(caf::sec::invalid_argument,
                             "cannot load --tls-cert/--tls-key ("
                               + opts.tls_cert + ", " + opts.tls_key
                               + "): " + ec.message());
    }
  }
  auto ep = results.begin()->endpoint();
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec)
    acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acc.bind(ep, ec);
  if (!ec)
    acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return caf::make_error(caf::sec::cannot_open_port,
                           "cannot listen on " + opts.host + ":"
                             + std::to_string(opts.port) + ": "
                             + ec.message());
  return socket_url(opts.host, acc.local_endpoint().port(),
                    impl_->shared.tls.has_value());
}

void ws_server::stop() {
  net::post(impl_->ioc, [i = impl_.get()] { i->stop_all(); });
}

void ws_server::wait_idle() {
  auto& t = *impl_->shared.tracker;
  std::unique_lock<std::mutex> guard{t.mtx};
  t.cv.wait(guard, [&t] { return t.live == 0; });
}

void ws_server::catch_signals() {
  // The signal_set takes the signals over as it is built; the wait is only
  // dispatched once run() runs the io_context, so a SIGTERM that comes
  // before is kept, not fatal.
  impl_->signals.emplace(impl_->ioc, SIGINT, SIGTERM);
  impl_->signals->async_wait([this](beast::error_code ec, int) {
    if (!ec)
      impl_->stop_all();
  });
  // SIGHUP re-reads the token secrets (only for a server that owns the
  // signals: an embedding service may use SIGHUP for itself).
  if (impl_->shared.opts.tokens) {
    impl_->hangup.add(SIGHUP);
    impl_->await_hangup();
  }
}

void ws_server::run() {
  impl_->do_accept();
  // A handler that throws must not take every other connection down: log
  // it and keep serving (that connection waits for its idle timeout).
  for (;;) {
    try {
      impl_->ioc.run();
      return;
    } catch (const std::exception& e) {
      log_event(spdlog::level::err, "handler_failed",
                "a connection handler failed", {{"what", e.what()}});
    }
  }
}

} // namespace chanstate
