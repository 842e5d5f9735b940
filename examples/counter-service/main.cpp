// counter-service: a CAF service that serves its own channel over
// WebSocket with chanstate::serve. Usage: counter-service [PORT] (0 = any).
#include <csignal>
#include <cstdlib>
#include <iostream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chanstate/chanstate.hpp>

#include "counter_channel.hpp"

int main(int argc, char** argv) {
  caf::actor_system_config cfg;
  chanstate::register_message_types(cfg);
  cfg.set("scheduler.max-threads", 2);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};

  auto routes = std::make_shared<chanstate::router>();
  routes->add("counter:*", example::make_counter);

  chanstate::serve_options opts;
  opts.endpoint.port = argc > 1 ? static_cast<std::uint16_t>(std::atoi(argv[1]))
                                : 4000;
  // Phoenix's connect/3: refuse sockets without a user, key state by it.
  opts.endpoint.connect = [](const chanstate::connect_request& req) {
    auto user = req.params.find("user");
    if (user == req.params.end() || user->second.empty())
      return chanstate::connect_decision::refuse("a user param is required");
    return chanstate::connect_decision::accept(user->second);
  };
  opts.stop_on_signals = true; // SIGINT/SIGTERM stop the endpoint cleanly

  auto ep = chanstate::serve(sys, routes, opts);
  if (!ep) {
    std::cerr << "counter-service: " << chanstate::explain(ep.error()) << '\n';
    return 1;
  }
  std::cout << "counter-service listening on " << ep->url() << std::endl;
  ep->wait(); // until SIGINT/SIGTERM (or ep->stop() from another thread)
  return 0;
}
