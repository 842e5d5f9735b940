// serve(): the registry side, pubsub and the WebSocket server on a thread of
// their own, in the order a clean shutdown needs.
#include <chanstate/endpoint/serve.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include <caf/all.hpp>

#include <chanstate/actors/pubsub.hpp>
#include <chanstate/endpoint/log.hpp>
#include <chanstate/endpoint/readiness.hpp>

namespace chanstate {

struct endpoint::state {
  state(caf::actor_system& sys, registry_side side, channel_env env,
        endpoint_options opts, std::shared_ptr<readiness> ready,
        caf::actor ready_watch)
    : sys(sys),
      side(std::move(side)),
      env(std::move(env)),
      ready(std::move(ready)),
      ready_watch(std::move(ready_watch)),
      server(std::make_unique<ws_server>(sys, this->env, std::move(opts),
                                         this->ready)) {
  }

  caf::actor_system& sys;
  registry_side side;
  channel_env env;
  std::shared_ptr<readiness> ready;
  caf::actor ready_watch;
  // Says a log storm's last second even when no event of its kind follows.
  caf::actor log_timer = spawn_log_summaries(sys);
  std::unique_ptr<ws_server> server;
  std::string url;
  std::uint16_t port = 0;
  std::thread io;

  std::mutex mtx;
  std::condition_variable cv;
  bool io_done = false;
  bool torn_down = false;
  std::mutex teardown_mtx;

  void stop_core() {
    caf::anon_send_exit(ready_watch, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(log_timer, caf::exit_reason::user_shutdown);
    side.stop(sys);
    caf::anon_send_exit(env.pubsub, caf::exit_reason::user_shutdown);
  }

  // After the Asio thread ended every connection has told its channels
  // user_shutdown; the registry and pubsub may go, and the server once no
  // bridge can post into it any more.
  void teardown(bool ask_stop) {
    std::lock_guard<std::mutex> guard{teardown_mtx};
    if (torn_down)
      return;
    if (ask_stop)
      server->stop();
    if (io.joinable())
      io.join();
    stop_core();
    server->wait_idle();
    server.reset();
    torn_down = true;
  }

  bool on_io_thread() const {
    return io.get_id() == std::this_thread::get_id();
  }
};

endpoint::endpoint(std::unique_ptr<state> st) : st_(std::move(st)) {
}

endpoint::endpoint(endpoint&&) noexcept = default;

endpoint& endpoint::operator=(endpoint&& other) noexcept {
  if (this != &other) {
    if (st_)
      stop();
    st_ = std::move(other.st_);
  }
  return *this;
}

endpoint::~endpoint() {
  if (st_)
    stop();
}

const std::string& endpoint::url() const {
  return st_->url;
}

std::uint16_t endpoint::port() const {
  return st_->port;
}

std::optional<std::uint16_t> endpoint::registry_port() const {
  return st_->side.published_port;
}

void endpoint::announce(std::ostream& out) {
  st_->ready->announce(out, st_->url);
}

const channel_env& endpoint::env() const {
  return st_->env;
}

void endpoint::stop() {
  if (st_->on_io_thread()) {
    // Joining ourselves would never return: only ask; wait() or the
    // destructor on another thread finishes. The server lives until then.
    st_->server->stop();
    return;
  }
  st_->teardown(true);
}

void endpoint::wait() {
  {
    std::unique_lock<std::mutex> guard{st_->mtx};
    st_->cv.wait(guard, [this] { return st_->io_done; });
  }
  st_->teardown(false);
}

bool endpoint::wait_for(std::chrono::milliseconds timeout) {
  {
    std::unique_lock<std::mutex> guard{st_->mtx};
    if (!st_->cv.wait_for(guard, timeout, [this] { return st_->io_done; }))
      return false;
  }
  st_->teardown(false);
  return true;
}

caf::expected<endpoint> serve(caf::actor_system& sys,
                              std::shared_ptr<const router> routes,
                              serve_options opts) {
  if (!routes)
    return caf::make_error(caf::sec::invalid_argument,
                           "serve: no router given");
  if (opts.restore_timeout <= opts.registry.down_wait)
    return caf::make_error(caf::sec::invalid_argument,
                           "serve: restore_timeout must be longer than "
                           "registry.down_wait");
  // A join that finds the link to a remote registry down waits for it, but
  // leaves the registry its own answer time (down_wait) within
  // restore_timeout, so the channel hears the link's clear error rather
  // than its own timeout.
  opts.registry_home.link_join_wait
    = opts.restore_timeout - opts.registry.down_wait;
  auto side = start_registry_side(sys, opts.registry, opts.registry_home);
  if (!side)
    return std::move(side.error());
  channel_env env{side->handle, spawn_pubsub(sys), std::move(routes),
                  opts.restore_timeout};
  env.remote_registry = side->remote;
  env.max_assigns_bytes = opts.max_assigns_bytes;
  env.counters = side->counters;
  env.ack = opts.ack;
  env.journal = side->journal_sync();
  auto ready = std::make_shared<readiness>(
    side->remote ? opts.registry_home.remote : std::string{},
    !opts.registry_home.journal_dir.empty());
  auto watch = spawn_readiness_watch(
    sys, ready,
    side->remote ? caf::actor_cast<caf::actor>(side->handle) : caf::actor{},
    side->journal());
  auto st = std::make_unique<endpoint::state>(
    sys, std::move(*side), std::move(env), std::move(opts.endpoint),
    std::move(ready), std::move(watch));
  auto url = st->server->listen();
  if (!url) {
    st->stop_core();
    return std::move(url.error());
  }
  st->url = std::move(*url);
  // The URL ends in ":PORT/socket".
  auto colon = st->url.rfind(':');
  st->port = static_cast<std::uint16_t>(std::stoul(st->url.substr(colon + 1)));
  auto* raw = st.get();
  // Before serve() returns (and the caller announces the endpoint): a
  // SIGTERM right after the announcement must stop the node cleanly.
  if (opts.stop_on_signals)
    raw->server->catch_signals();
  raw->io = std::thread{[raw] {
    raw->server->run();
    std::lock_guard<std::mutex> guard{raw->mtx};
    raw->io_done = true;
    raw->cv.notify_all();
  }};
  return endpoint{std::move(st)};
}

} // namespace chanstate
