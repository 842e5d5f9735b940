// Phoenix v2 codec: strict about shape, lenient about extra array elements
// (Phoenix's own decoder takes the first five and ignores the rest).
#include <chanstate/endpoint/wire_codec.hpp>

#include <algorithm>
#include <cmath>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>

namespace chanstate {

namespace {

// Boost.JSON 1.81 parses 1e400 to infinity; relaying it would produce a frame
// (`Infinity`) no client can parse, so such input is refused.
bool all_finite(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      return std::isfinite(v.get_double());
    case boost::json::kind::array:
      for (const auto& x : v.get_array())
        if (!all_finite(x))
          return false;
      return true;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object())
        if (!all_finite(kv.value()))
          return false;
      return true;
    default:
      return true;
  }
}

// A ref is a string or null; null becomes "".
bool take_ref(boost::json::value& v, std::string& out) {
  if (v.is_null())
    return true;
  if (!v.is_string())
    return false;
  out.assign(v.get_string().data(), v.get_string().size());
  return true;
}

} // namespace

const char* to_string(wire_error x) {
  switch (x) {
    case wire_error::none:
      return "ok";
    case wire_error::invalid_json:
      return "invalid JSON";
    case wire_error::non_finite_number:
      return "number out of range";
    case wire_error::not_an_array:
      return "frame must be a JSON array [join_ref, ref, topic, event, "
             "payload]";
    case wire_error::too_few_elements:
      return "frame must have 5 elements [join_ref, ref, topic, event, "
             "payload]";
    case wire_error::bad_join_ref:
      return "join_ref must be a string or null";
    case wire_error::bad_ref:
      return "ref must be a string or null";
    case wire_error::bad_topic:
      return "topic must be a string";
    case wire_error::bad_event:
      return "event must be a string";
    case wire_error::payload_not_object:
      return "payload must be a JSON object";
  }
  return "invalid frame";
}

decoded_frame decode_frame(std::string_view text) {
  decoded_frame out;
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) {
    out.error = wire_error::invalid_json;
    return out;
  }
  if (!all_finite(v)) {
    out.error = wire_error::non_finite_number;
    return out;
  }
  auto* arr = v.if_array();
  if (!arr) {
    out.error = wire_error::not_an_array;
    return out;
  }
  if (arr->size() < 5) {
    out.error = wire_error::too_few_elements;
    return out;
  }
  auto& f = out.frame;
  auto& a = *arr;
  if (!take_ref(a[0], f.join_ref)) {
    out.error = wire_error::bad_join_ref;
    return out;
  }
  if (!take_ref(a[1], f.ref)) {
    out.error = wire_error::bad_ref;
    return out;
  }
  if (!a[2].is_string()) {
    out.error = wire_error::bad_topic;
    return out;
  }
  f.topic = a[2].get_string();
  if (!a[3].is_string()) {
    out.error = wire_error::bad_event;
    return out;
  }
  f.event = a[3].get_string();
  if (!a[4].is_object()) {
    out.error = wire_error::payload_not_object;
    return out;
  }
  f.payload = std::move(a[4].get_object());
  return out;
}

namespace {

// A JSON string; refs, topics and events rarely need escaping, so the
// common case is a plain copy between quotes.
void append_string(std::string& out, boost::json::serializer& sr,
                   std::string_view s) {
  bool plain = std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\';
  });
  if (plain) {
    out += '"';
    out.append(s.data(), s.size());
    out += '"';
    return;
  }
  sr.reset(boost::json::string_view{s.data(), s.size()});
  append_serialized(out, sr);
}

void append_ref(std::string& out, boost::json::serializer& sr,
                const std::string& ref) {
  if (ref.empty())
    out += "null";
  else
    append_string(out, sr, ref);
}

} // namespace

// Written straight into one string: no array of copies, no DOM of the
// frame (the payload is serialized where it lies). The output is the same
// text boost::json::serialize gave for the five-element array.
std::string encode_frame(const outbound_frame& f) {
  std::string out;
  out.reserve(96 + f.join_ref.size() + f.ref.size() + f.topic.size()
              + f.event.size());
  boost::json::serializer sr;
  out += '[';
  append_ref(out, sr, f.join_ref);
  out += ',';
  append_ref(out, sr, f.ref);
  out += ',';
  append_string(out, sr, f.topic);
  out += ',';
  append_string(out, sr, f.event);
  out += ',';
  if (f.payload.shared) {
    append_payload(out, f.payload); // lists shared with the assigns
  } else {
    sr.reset(&f.payload.value);
    append_serialized(out, sr);
  }
  out += ']';
  return out;
}

} // namespace chanstate
