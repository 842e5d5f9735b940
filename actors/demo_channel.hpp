// The demo channel of design.md ("room:*"): the contract tests and benchmarks drive.
#pragma once

#include "actors/channel.hpp"

namespace chanstate {

/// - join → ok {"restored": bool, "ns": [...]} (plus "note" when a saved state
///   was refused, e.g. after a crash loop)
/// - add {"n": integer} → appends n to ns, no reply; a bad n → error reply
/// - get {} → ok {"ns": [...]}
/// - oopsy {} → throws (the channel crashes)
/// - bye {} → stops normally
/// - anything else → error {"reason": "unknown event", "event": ...}
class demo_channel : public channel {
public:
  join_result join(const boost::json::object& params, socket& s) override;

  handle_result handle_in(const std::string& event,
                          const boost::json::object& payload,
                          socket& s) override;
};

/// Factory for router::add("room:*", ...).
channel_factory demo_channel_factory();

} // namespace chanstate
