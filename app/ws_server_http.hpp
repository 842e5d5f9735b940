// Internal to the endpoint (not installed): an HTTP connection, a template
// over its stream, that answers one request or upgrades it. Only
// ws_server_plain.cpp and ws_server_tls.cpp include it, each instantiating
// it for one stream. It sees the WebSocket connection only through
// start_websocket (ws_server_beast.hpp).
#pragma once

#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/json/serialize.hpp>

#include <chanstate/actors/channel_error.hpp>
#include <chanstate/endpoint/metrics.hpp>
#include <chanstate/endpoint/web_assets.hpp>
#include <chanstate/endpoint/connect_params.hpp>
#include <chanstate/endpoint/log.hpp>
#include <chanstate/endpoint/ws_server_beast.hpp>

namespace chanstate::ws_detail {

namespace websocket = beast::websocket;

/// An HTTP connection (after its TLS handshake, with TLS): answers one
/// request or hands it to a ws_connection as an upgrade.
template <class Stream>
class http_session
  : public std::enable_shared_from_this<http_session<Stream>> {
public:
  http_session(tcp::socket&& socket, server_shared& shared)
    : stream_(open_stream(std::move(socket), shared)), shared_(shared) {
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&http_session::start,
                                            this->shared_from_this()));
  }

private:
  static Stream open_stream(tcp::socket&& s, server_shared& shared) {
    if constexpr (is_tls<Stream>)
      return Stream{std::move(s), *shared.tls};
    else
      return Stream{std::move(s)};
  }

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
    start_websocket(std::move(stream_), shared_, std::move(verdict.client_id),
                    std::move(verdict.claims), std::move(req));
  }

  // /metrics renders the very document /stats serves, so the two agree.
  void serve_stats(bool as_metrics) {
    auto done = [self = this->shared_from_this(),
                 as_metrics](caf::expected<std::string> r) {
      // On a CAF worker: hand the answer to the io thread.
      auto text = r ? std::move(*r) : "registry: " + explain(r.error());
      net::post(self->stream_.get_executor(),
                [self, as_metrics, text = std::move(text)] {
                  auto doc = stats_document(text, self->shared_.counters,
                                            self->shared_.env.counters.get());
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

} // namespace chanstate::ws_detail
