// What a transport tracks about each channel it joined, and what it sends
// when that channel goes down.
#pragma once

#include <optional>
#include <string>

#include <caf/error.hpp>

#include <chanstate/actors/frames.hpp>

namespace chanstate {

/// A transport's view of one channel: updated from the frames it forwards.
struct channel_link {
  std::string topic;
  std::string join_ref;
  bool replied = false; // the join got its reply (ok or error)
  bool joined = false;  // the join reply was ok

  /// Call for every frame the channel sends, before writing it out.
  void observe(const outbound_frame& f) {
    if (f.kind == frame_kind::join_ok || f.kind == frame_kind::join_error) {
      replied = true;
      joined = f.kind == frame_kind::join_ok;
    }
  }
};

/// The frame Phoenix sends when a channel ends with `reason`:
/// - never replied to its join: error reply {"reason":"join crashed"};
/// - joined and ended normally, or taken over by a newer join: phx_close;
/// - joined and ended abnormally: phx_error {"reason":"channel_crash"};
/// - its join was refused: nothing.
std::optional<outbound_frame> frame_on_down(const channel_link& link,
                                            const caf::error& reason);

} // namespace chanstate
