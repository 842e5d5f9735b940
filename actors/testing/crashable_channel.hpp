// Any channel, crashable on demand: what channel_case::crash() relies on.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/channel.hpp>

namespace chanstate::testing {

/// The message crash() sends: a channel routed through channel_case throws
/// when it handles it, exactly as a handler that throws would.
using crash_atom = caf::atom_constant<caf::atom("cs_crash")>;

/// What crash() makes a channel throw.
struct injected_crash : std::runtime_error {
  /// what() is "injected crash".
  injected_crash() : std::runtime_error("injected crash") {
  }
};

/// Wraps a user's channel so that any channel can be crashed on demand: it
/// forwards every callback and throws from handle_info on crash_atom.
class crashable_channel : public channel {
public:
  /// Takes `inner` over; every callback goes to it.
  explicit crashable_channel(std::unique_ptr<channel> inner)
    : inner_(std::move(inner)) {
  }

  /// Forwards to the wrapped channel.
  join_result join(const boost::json::object& params, socket& s) override {
    return inner_->join(params, s);
  }

  /// Forwards to the wrapped channel.
  handle_result handle_in(const std::string& event,
                          const boost::json::object& payload,
                          socket& s) override {
    return inner_->handle_in(event, payload, s);
  }

  /// Throws injected_crash on crash_atom; forwards anything else.
  handle_result handle_info(const caf::message& msg, socket& s) override {
    if (msg.match_elements<crash_atom>())
      throw injected_crash{};
    return inner_->handle_info(msg, s);
  }

  /// Forwards to the wrapped channel.
  void terminate(const caf::error& reason, socket& s) override {
    inner_->terminate(reason, s);
  }

private:
  std::unique_ptr<channel> inner_;
};

} // namespace chanstate::testing
