// The endpoint's server: listening, accepting, signals and shutdown. What
// happens on a connection is in ws_server_http.hpp (HTTP, upgrade) and
// ws_server_connection.hpp (WebSocket, Phoenix session), compiled once for
// plain TCP (ws_server_plain.cpp) and once for TLS (ws_server_tls.cpp): so
// this file includes Asio but not Beast.
#include <chanstate/endpoint/ws_server.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chanstate/endpoint/log.hpp>
#include <chanstate/endpoint/ws_server_shared.hpp>

namespace chanstate {

namespace {
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using ws_detail::live_connection;
using ws_detail::server_shared;
} // namespace

struct ws_server::impl {
  impl(caf::actor_system& sys, channel_env env, endpoint_options opts,
       std::shared_ptr<const readiness> ready)
    : shared{sys, std::move(env), std::move(opts), std::move(ready)} {
  }

  // Sockets take the io_context's own executor, not a strand: one thread
  // runs the io_context (run()), so every handler of a connection already
  // runs in order on it, and a strand only cost a mutex, a queue hop and a
  // reference count per completion (~8% of the node's CPU under the ws
  // bench). Other threads only post (bridges, /stats), which is safe.
  void do_accept() {
    acceptor.async_accept(ioc,
                          [this](error_code ec, tcp::socket s) {
                            if (!acceptor.is_open())
                              return;
                            if (ec) {
                              on_accept_error();
                              return;
                            }
                            error_code ignored;
                            s.set_option(tcp::no_delay{true}, ignored);
                            if (shared.tls)
                              ws_detail::start_tls_session(std::move(s),
                                                           shared);
                            else
                              ws_detail::start_plain_session(std::move(s),
                                                             shared);
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
    accept_pause.async_wait([this](error_code ec) {
      if (!ec && acceptor.is_open())
        do_accept();
    });
  }

  // SIGINT/SIGTERM: stop accepting, end every connection on the io thread, then
  // stop the io_context once the last one is done.
  void stop_all() {
    error_code ignored;
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
    hangup.async_wait([this](error_code ec, int) {
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
  error_code ec;
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
  impl_->signals->async_wait([this](error_code ec, int) {
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
