// Fuzzes the Phoenix v2 frame decoder: any text either decodes or is refused
// with a reason, and what decodes survives encode -> decode unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json/serialize.hpp>

#include <chanstate/endpoint/wire_codec.hpp>
#include "test/fuzz/fuzz_check.hpp"

using namespace chanstate;
using chanstate::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto text = fuzz::as_text(data, size);
  auto d = decode_frame(text);
  check(to_string(d.error) != nullptr, "every error has a reason");
  if (is_fatal(d.error))
    return 0;
  if (d.error == wire_error::payload_not_object)
    check(d.frame.payload.empty(), "a refused payload decodes empty");
  // What a channel would send back with the same fields must be a frame that
  // decodes to those fields again.
  outbound_frame out;
  out.join_ref = d.frame.join_ref;
  out.ref = d.frame.ref;
  out.topic = d.frame.topic;
  out.event = d.frame.event;
  out.payload.value = d.frame.payload;
  auto encoded = encode_frame(out);
  check(chanstate::fuzz::parses_as_json(encoded), "encoded frame is JSON");
  auto again = decode_frame(encoded);
  check(again.error == wire_error::none, "an encoded frame decodes");
  check(again.frame.join_ref == d.frame.join_ref, "join_ref round-trips");
  check(again.frame.ref == d.frame.ref, "ref round-trips");
  check(again.frame.topic == d.frame.topic, "topic round-trips");
  check(again.frame.event == d.frame.event, "event round-trips");
  check(chanstate::fuzz::loosely_equal(again.frame.payload, d.frame.payload),
        "payload round-trips");
  return 0;
}
