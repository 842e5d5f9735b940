// A channel for tests: every exit path of the channel interface on demand.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <caf/sec.hpp>

#include <chanstate/actors/channel.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate::test {

/// Which terminate calls the probe saw, in order ("<topic>: <reason>").
inline std::vector<std::string>& terminate_log() {
  static std::vector<std::string> log;
  return log;
}

/// - join: params {"refuse": true} → refused; {"throw": true}, or assigns
///   with a "join_throws" key → throws; else ok {"restored", "assigns",
///   "note"?}
/// - set {"key", "value"} → assigns, no reply
/// - get {} → ok {"assigns": {...}}
/// - set_then_throw {"key", "value"} → assigns, then throws
/// - stop {} → stops normally; stop_error {} → stops with an error
/// - ping {} → pushes "pong"; shout {} → broadcast; whisper {} → broadcast_from
class probe_channel : public channel {
public:
  join_result join(const boost::json::object& params, socket& s) override {
    if (params.contains("refuse"))
      return join_result::refuse({{"reason", "refused by probe"}});
    // A restored state can make join throw too (the poison guard's case).
    if (params.contains("throw") || s.assigns_object().contains("join_throws"))
      throw std::runtime_error("probe join throws");
    boost::json::object r{{"restored", s.restored()},
                          {"assigns", s.assigns_object()}};
    if (!s.restore_note().empty())
      r.emplace("note", s.restore_note());
    return join_result::accept(std::move(r));
  }

  handle_result handle_in(const std::string& event,
                          const boost::json::object& p, socket& s) override {
    if (event == "set" || event == "set_then_throw") {
      s.assign(std::string{p.at("key").as_string()}, p.at("value"));
      if (event == "set_then_throw")
        throw std::runtime_error("probe throws after assigning");
      return handle_result::noreply();
    }
    if (event == "get")
      return handle_result::with_reply(ok({{"assigns", s.assigns_object()}}));
    if (event == "stop")
      return handle_result::stop_with(caf::none, ok());
    if (event == "stop_error")
      return handle_result::stop_with(
        caf::make_error(caf::sec::invalid_argument, "probe gives up"));
    if (event == "ping") {
      s.push("pong", {{"n", 1}});
      return handle_result::noreply();
    }
    if (event == "shout") {
      s.broadcast("shout", p);
      return handle_result::noreply();
    }
    if (event == "whisper") {
      s.broadcast_from("whisper", p);
      return handle_result::noreply();
    }
    return handle_result::with_reply(error_reply({{"reason", "unknown"}}));
  }

  void terminate(const caf::error& reason, socket& s) override {
    terminate_log().push_back(s.topic() + ": " + describe(reason));
  }
};

inline channel_factory probe_channel_factory() {
  return [] { return std::make_unique<probe_channel>(); };
}

} // namespace chanstate::test
