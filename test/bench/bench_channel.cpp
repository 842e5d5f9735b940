// The bench channel: the peer's put/get/crash, on chanstate's socket.
#include "test/bench/bench_channel.hpp"

#include <stdexcept>

namespace chanstate::bench {

join_result bench_channel::join(const boost::json::object&, socket& s) {
  return join_result::accept({{"restored", s.restored()}});
}

handle_result bench_channel::handle_in(const std::string& event,
                                       const boost::json::object& payload,
                                       socket& s) {
  if (event == "put") {
    if (auto v = payload.if_contains("items"))
      s.assign("items", *v);
    return handle_result::with_reply(ok());
  }
  if (event == "get") {
    auto v = s.get("items");
    return handle_result::with_reply(
      ok({{"items", v ? *v : boost::json::value{}}}));
  }
  if (event == "oopsy")
    throw std::runtime_error("oopsy: the bench channel crashes on purpose");
  return handle_result::with_reply(
    error_reply({{"reason", "unknown event"}, {"event", event}}));
}

channel_factory bench_channel_factory() {
  return [] { return std::make_unique<bench_channel>(); };
}

} // namespace chanstate::bench
