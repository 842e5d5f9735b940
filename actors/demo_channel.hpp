// The demo channel "room:*" (README, "The Phoenix endpoint"): the contract
// the tests and benchmarks drive.
#pragma once

#include <chanstate/actors/channel.hpp>

namespace chanstate {

/// - join → ok {"restored": bool, "ns": [...]} (plus "fallback_generation"
///   or "quarantined" when the poison guard set the newest state aside)
/// - add {"n": integer} → appends n to ns, no reply; a bad n → error reply
/// - get {} → ok {"ns": [...]}
/// - oopsy {} → throws (the channel crashes)
/// - ping {...} → pushes "pong" with the same payload to this client, ok
/// - shout {...} → broadcasts "shout" with the payload to every client on
///   the topic (this one too), ok
/// - bye {} → stops normally
/// - abort {} → kills the whole process (std::abort) when the node allows it
///   (--allow-fatal-demo), else an error reply
/// - anything else → error {"reason": "unknown event", "event": ...}
class demo_channel : public channel {
public:
  /// `allow_fatal`: whether `abort` may kill the process (--allow-fatal-demo).
  explicit demo_channel(bool allow_fatal = false) : allow_fatal_(allow_fatal) {
  }

  /// Accepts the join unless the client's token has a `topics` claim that
  /// does not list the topic; replies with the restored list, as above.
  join_result join(const boost::json::object& params, socket& s) override;

  /// The events listed above.
  handle_result handle_in(const std::string& event,
                          const boost::json::object& payload,
                          socket& s) override;

private:
  bool allow_fatal_;
};

/// Factory for router::add("room:*", ...). `allow_fatal` enables `abort`.
channel_factory demo_channel_factory(bool allow_fatal = false);

} // namespace chanstate
