// Frame builders shared by channels and transports.
#include <chanstate/actors/frames.hpp>

#include <caf/exit_reason.hpp>

#include <chanstate/actors/channel_link.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

outbound_frame make_reply(frame_kind kind, const std::string& join_ref,
                          const std::string& ref, const std::string& topic,
                          const std::string& status,
                          boost::json::object response) {
  outbound_frame f;
  f.kind = kind;
  f.join_ref = join_ref;
  f.ref = ref;
  f.topic = topic;
  f.event = "phx_reply";
  f.payload.value.reserve(2);
  f.payload.value.emplace("status", status);
  f.payload.value.emplace("response", std::move(response));
  return f;
}

std::optional<outbound_frame> frame_on_down(const channel_link& link,
                                            const caf::error& reason) {
  if (!link.replied)
    return make_reply(frame_kind::join_error, link.join_ref, link.join_ref,
                      link.topic, "error", {{"reason", "join crashed"}});
  if (!link.joined)
    return std::nullopt;
  outbound_frame f;
  f.join_ref = link.join_ref;
  f.ref = link.join_ref;
  f.topic = link.topic;
  if (!reason || reason == caf::exit_reason::user_shutdown
      || reason == channel_exit::taken_over) {
    f.kind = frame_kind::close;
    f.event = "phx_close";
  } else {
    f.kind = frame_kind::error;
    f.event = "phx_error";
    f.payload.value.emplace("reason", "channel_crash");
  }
  return f;
}

} // namespace chanstate
