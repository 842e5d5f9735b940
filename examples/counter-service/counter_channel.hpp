// A counter channel: its count survives a crash of the channel.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include <chanstate/chanstate.hpp>

namespace example {

/// Topic "counter:<name>". Events: "inc" {by} replies {count}; "get"
/// replies {count}; "crash" throws (the count survives); "bye" stops
/// normally (the count is dropped).
class counter_channel : public chanstate::channel {
public:
  chanstate::join_result join(const boost::json::object&,
                              chanstate::socket& s) override {
    return chanstate::join_result::accept(
      {{"restored", s.restored()}, {"count", count(s)}});
  }

  chanstate::handle_result handle_in(const std::string& event,
                                     const boost::json::object& payload,
                                     chanstate::socket& s) override {
    using chanstate::handle_result;
    if (event == "inc") {
      auto by = payload.if_contains("by");
      if (by && !by->is_int64())
        return handle_result::with_reply(
          chanstate::error_reply({{"reason", "by must be an integer"}}));
      s.assign("count", count(s) + (by ? by->as_int64() : 1));
      return handle_result::with_reply(chanstate::ok({{"count", count(s)}}));
    }
    if (event == "get")
      return handle_result::with_reply(chanstate::ok({{"count", count(s)}}));
    if (event == "crash")
      throw std::runtime_error("counter asked to crash");
    if (event == "bye")
      return handle_result::stop_with(caf::none, chanstate::ok());
    return handle_result::with_reply(
      chanstate::error_reply({{"reason", "unknown event " + event}}));
  }

  static std::int64_t count(const chanstate::socket& s) {
    auto v = s.get("count");
    return v ? v->as_int64() : 0;
  }
};

/// The factory a router takes.
inline std::unique_ptr<chanstate::channel> make_counter() {
  return std::make_unique<counter_channel>();
}

} // namespace example
