// What flows between a transport and its channels.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include <chanstate/actors/json_payload.hpp>

namespace chanstate {

/// A client event for a joined channel (transport → channel, handle_in).
/// An empty `ref` means the client expects no reply.
struct client_event {
  std::string ref;
  std::string event;
  json_payload payload;
};

/// CAF's serialization of a client_event (across nodes and in messages).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_event& x) {
  return f(caf::meta::type_name("client_event"), x.ref, x.event, x.payload);
}

/// What an outbound frame means to the transport that tracks join state.
enum class frame_kind : std::uint8_t {
  join_ok,    // phx_reply ok to the join: the channel is serving
  join_error, // phx_reply error to the join: no channel is kept
  reply,      // phx_reply to a client push
  push,       // channel push, [JR, null, topic, event, payload]
  broadcast,  // topic broadcast, [null, null, topic, event, payload]
  close,      // phx_close, [JR, JR, topic, "phx_close", {}]
  error,      // phx_error, [JR, JR, topic, "phx_error", {...}]
};

/// One Phoenix v2 frame, channel → transport: [join_ref, ref, topic, event,
/// payload]. An empty join_ref or ref stands for JSON null (phoenix.js never
/// sends empty refs, so the two cannot be confused). For replies `event` is
/// "phx_reply" and `payload` is {"status": ..., "response": {...}}.
struct outbound_frame {
  frame_kind kind = frame_kind::push;
  std::string join_ref;
  std::string ref;
  std::string topic;
  std::string event;
  json_payload payload;
};

/// CAF's serialization of a outbound_frame (across nodes and in messages).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbound_frame& x) {
  return f(caf::meta::type_name("outbound_frame"), x.kind, x.join_ref, x.ref,
           x.topic, x.event, x.payload);
}

/// A broadcast on a topic (pubsub → channels → transports).
struct topic_broadcast {
  std::string topic;
  std::string event;
  json_payload payload;
};

/// CAF's serialization of a topic_broadcast (across nodes and in messages).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_broadcast& x) {
  return f(caf::meta::type_name("topic_broadcast"), x.topic, x.event,
           x.payload);
}

/// Builds a phx_reply frame.
outbound_frame make_reply(frame_kind kind, const std::string& join_ref,
                          const std::string& ref, const std::string& topic,
                          const std::string& status,
                          boost::json::object response);

} // namespace chanstate
