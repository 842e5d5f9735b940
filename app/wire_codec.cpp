// Phoenix v2 codec: strict about shape, lenient about extra array elements
// (Phoenix's own decoder takes the first five and ignores the rest).
#include <chanstate/endpoint/wire_codec.hpp>

#include <cmath>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
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

boost::json::value ref_value(const std::string& ref) {
  if (ref.empty())
    return nullptr;
  return boost::json::string{ref};
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

std::string encode_frame(const outbound_frame& f) {
  boost::json::array a;
  a.reserve(5);
  a.emplace_back(ref_value(f.join_ref));
  a.emplace_back(ref_value(f.ref));
  a.emplace_back(boost::json::string{f.topic});
  a.emplace_back(boost::json::string{f.event});
  a.emplace_back(f.payload.value);
  return boost::json::serialize(a);
}

} // namespace chanstate
