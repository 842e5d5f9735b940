// The demo channel: a list of integers that must survive crashes.
#include "actors/demo_channel.hpp"

#include <cstdlib>
#include <stdexcept>

#include <boost/json/array.hpp>

namespace chanstate {

namespace {

boost::json::array current_ns(const socket& s) {
  if (auto v = s.get("ns"); v && v->is_array())
    return v->get_array();
  return {};
}

} // namespace

join_result demo_channel::join(const boost::json::object&, socket& s) {
  boost::json::object reply{{"restored", s.restored()},
                            {"ns", current_ns(s)}};
  if (s.fallback_generation() > 0)
    reply.emplace("fallback_generation", s.fallback_generation());
  if (!s.restore_note().empty())
    reply.emplace(s.restore_note().rfind("quarantined", 0) == 0 ? "quarantined"
                                                                 : "note",
                  s.restore_note());
  return join_result::accept(std::move(reply));
}

handle_result demo_channel::handle_in(const std::string& event,
                                      const boost::json::object& payload,
                                      socket& s) {
  if (event == "add") {
    auto n = payload.if_contains("n");
    // JSON numbers that are integers: Boost.JSON parses them as int64, or
    // uint64 when they do not fit int64.
    if (!n || !(n->is_int64() || n->is_uint64()))
      return handle_result::with_reply(error_reply(
        {{"reason", "add needs an integer field n"}}));
    auto ns = current_ns(s);
    ns.push_back(*n);
    s.assign("ns", std::move(ns));
    return handle_result::noreply();
  }
  if (event == "get")
    return handle_result::with_reply(ok({{"ns", current_ns(s)}}));
  if (event == "oopsy")
    throw std::runtime_error("oopsy: the demo channel crashes on purpose");
  if (event == "abort") {
    if (!allow_fatal_)
      return handle_result::with_reply(error_reply(
        {{"reason", "abort is disabled; start the node with "
                    "--allow-fatal-demo"}}));
    // The whole process dies here, as a segfault or OOM kill would: only
    // the journal or a registry on another node can save the state now.
    std::abort();
  }
  // Exercise the two ways a channel reaches clients unasked (Phoenix's
  // push/3 and broadcast!/3), so transports can be tested end to end.
  if (event == "ping") {
    s.push("pong", payload);
    return handle_result::with_reply(ok());
  }
  if (event == "shout") {
    s.broadcast("shout", payload);
    return handle_result::with_reply(ok());
  }
  if (event == "bye")
    return handle_result::stop_with(caf::none, ok());
  return handle_result::with_reply(
    error_reply({{"reason", "unknown event"}, {"event", event}}));
}

channel_factory demo_channel_factory(bool allow_fatal) {
  return [allow_fatal] { return std::make_unique<demo_channel>(allow_fatal); };
}

} // namespace chanstate
