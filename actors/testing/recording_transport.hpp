// A stand-in for a client's connection that records, per channel, every
// frame the channel sent and how the channel ended.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/channel.hpp>
#include <chanstate/actors/frames.hpp>

namespace chanstate::testing {

/// What the recording transports saw, keyed by channel actor id. Shared by
/// every transport of one bench; read it only while the scheduler is idle.
struct transcript {
  /// Every frame each channel sent, in order.
  std::unordered_map<caf::actor_id, std::vector<outbound_frame>> frames;
  /// Each terminated channel's exit reason (none = normal).
  std::unordered_map<caf::actor_id, caf::error> exits;

  /// The frames `id` sent (empty if none).
  const std::vector<outbound_frame>& frames_of(caf::actor_id id) const {
    static const std::vector<outbound_frame> none;
    auto i = frames.find(id);
    return i == frames.end() ? none : i->second;
  }
};

/// A client's connection: appends what its channels send to `log`, and
/// ends on close_atom as a transport closing normally does.
inline caf::behavior recording_transport(caf::event_based_actor* self,
                                         std::shared_ptr<transcript> log) {
  return {
    [self, log](outbound_frame& f) {
      f.payload.materialize(); // tests read one DOM, shared lists included
      auto src = self->current_sender();
      log->frames[src ? src->id() : caf::invalid_actor_id].push_back(
        std::move(f));
    },
    [self](caf::close_atom) { self->quit(); },
  };
}

/// Reads a join or reply frame as the {status, response} the client sees.
inline reply to_reply(const outbound_frame& f) {
  reply r;
  const auto& p = f.payload.value;
  if (auto s = p.if_contains("status"); s && s->is_string())
    r.status = std::string{s->get_string()};
  if (auto o = p.if_contains("response"); o && o->is_object())
    r.response = o->get_object();
  return r;
}

} // namespace chanstate::testing
