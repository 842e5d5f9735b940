// Everything a service needs to serve chanstate channels: write a channel,
// route topics to it, serve them over WebSocket (Phoenix protocol v2).
//
//   #include <chanstate/chanstate.hpp>
//   struct counter : chanstate::channel { ... };           // join, handle_in
//   auto routes = std::make_shared<chanstate::router>();
//   routes->add("counter:*", [] { return std::make_unique<counter>(); });
//   auto ep = chanstate::serve(sys, routes);                // ws://127.0.0.1:4000/socket
#pragma once

#include <chanstate/version.hpp>

#include <chanstate/registry/registry_config.hpp>
#include <chanstate/registry/registry_error.hpp>

#include <chanstate/actors/channel.hpp>
#include <chanstate/actors/channel_error.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/actors/message_types.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/actors/router.hpp>
#include <chanstate/actors/socket.hpp>

#include <chanstate/endpoint/connect_params.hpp>
#include <chanstate/endpoint/serve.hpp>
