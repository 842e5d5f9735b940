// Phoenix serializer v2: JSON text frames <-> frames (JSON only at the edge).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include <chanstate/actors/frames.hpp>

namespace chanstate {

/// One client frame, [join_ref, ref, topic, event, payload]. A null join_ref
/// or ref decodes to the empty string, as in outbound_frame.
struct inbound_frame {
  std::string join_ref;
  std::string ref;
  std::string topic;
  std::string event;
  boost::json::object payload;
};

/// Why a text frame is not a usable Phoenix v2 frame.
enum class wire_error : std::uint8_t {
  none = 0,
  invalid_json,       // the text does not parse
  non_finite_number,  // a number out of double range (would re-encode as
                      // Infinity, which is not JSON)
  not_an_array,       // valid JSON, but not [join_ref, ref, topic, event, payload]
  too_few_elements,   // fewer than 5 elements (extra ones are ignored)
  bad_join_ref,       // join_ref neither a string nor null
  bad_ref,            // ref neither a string nor null
  bad_topic,          // topic not a string
  bad_event,          // event not a string
  payload_not_object, // the frame is well formed except its payload
};

/// A short, human-readable reason (fits a WebSocket close frame).
const char* to_string(wire_error x);

/// True if the frame is unusable as a whole: the connection gets closed.
/// Only payload_not_object leaves enough (topic, refs) to answer with a reply.
constexpr bool is_fatal(wire_error x) {
  return x != wire_error::none && x != wire_error::payload_not_object;
}

/// The outcome of decoding: `frame` is meaningful unless is_fatal(error);
/// for payload_not_object its payload is empty.
struct decoded_frame {
  wire_error error = wire_error::none;
  inbound_frame frame;
};

/// Decodes one v2 text frame. Never throws.
decoded_frame decode_frame(std::string_view text);

/// Encodes a frame as [join_ref|null, ref|null, topic, event, payload].
std::string encode_frame(const outbound_frame& f);

} // namespace chanstate
