// The channel the payload scenarios drive ("bench:*"): put/get of one assign.
#pragma once

#include <chanstate/actors/channel.hpp>

namespace chanstate::bench {

/// Like the peer's channel: one assign "items" that a client sets and reads.
/// - join → ok {"restored": bool}
/// - put {"items": v} → sets items to v, reply ok {}
/// - get {} → ok {"items": v} (null when unset)
/// - oopsy {} → throws (the channel crashes)
class bench_channel : public channel {
public:
  join_result join(const boost::json::object& params, socket& s) override;

  handle_result handle_in(const std::string& event,
                          const boost::json::object& payload,
                          socket& s) override;
};

/// Factory for router::add("bench:*", ...).
channel_factory bench_channel_factory();

} // namespace chanstate::bench
