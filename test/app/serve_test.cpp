// chanstate::serve's lifecycle on a real actor system: listen, stop from
// another thread, refusals that leave nothing running (a leftover actor
// would hang ~actor_system, and the suite's timeout would fail it).
#include <doctest/doctest.h>

#include <chrono>
#include <regex>
#include <thread>

#include <caf/all.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/chanstate.hpp>

using namespace chanstate;
using namespace std::chrono_literals;

namespace {

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  std::shared_ptr<router> routes = std::make_shared<router>();

  static caf::actor_system_config& prepare(caf::actor_system_config& c) {
    c.set("scheduler.max-threads", 2);
    return c;
  }

  fixture() : sys(prepare(cfg)) {
    routes->add("room:*", demo_channel_factory());
  }

  serve_options any_port() {
    serve_options opts;
    opts.endpoint.port = 0;
    return opts;
  }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "serve listens on a free port and stop() returns") {
  auto ep = serve(sys, routes, any_port());
  REQUIRE(ep);
  CHECK(ep->port() != 0);
  CHECK(ep->url() == "ws://127.0.0.1:" + std::to_string(ep->port()) + "/socket");
  CHECK_FALSE(ep->registry_port());
  CHECK_FALSE(ep->wait_for(0ms));
  ep->stop();
  CHECK(ep->wait_for(0ms));
  ep->stop(); // idempotent
}

TEST_CASE_FIXTURE(fixture, "wait() returns when another thread stops the endpoint") {
  auto ep = serve(sys, routes, any_port());
  REQUIRE(ep);
  std::thread stopper{[&] { ep->stop(); }};
  ep->wait();
  stopper.join();
  CHECK(ep->wait_for(0ms));
}

TEST_CASE_FIXTURE(fixture, "a taken port is an error and leaves nothing running") {
  auto first = serve(sys, routes, any_port());
  REQUIRE(first);
  auto opts = any_port();
  opts.endpoint.port = first->port();
  auto second = serve(sys, routes, opts);
  REQUIRE_FALSE(second);
  CHECK(explain(second.error()).find("cannot listen") != std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "options that cannot work are refused before anything starts") {
  auto opts = any_port();
  opts.restore_timeout = opts.registry.down_wait;
  CHECK_FALSE(serve(sys, routes, opts));
  CHECK_FALSE(serve(sys, nullptr, any_port()));
}

TEST_CASE_FIXTURE(fixture, "a destroyed handle stops its endpoint") {
  std::uint16_t port = 0;
  {
    auto ep = serve(sys, routes, any_port());
    REQUIRE(ep);
    port = ep->port();
  }
  // The port is free again: a new endpoint can take it.
  auto opts = any_port();
  opts.endpoint.port = port;
  CHECK(serve(sys, routes, opts));
}
