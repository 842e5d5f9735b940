// Fuzzes the demo channel's JSON payload handling: each input line is a
// client frame; what decodes goes to demo_channel::handle_in on one socket,
// as a channel actor would hand it over, and everything the handler sends or
// commits must be JSON a client (or the journal) can read back.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/frames.hpp>
#include <chanstate/endpoint/wire_codec.hpp>
#include "test/fuzz/fuzz_check.hpp"

namespace chanstate {

// The socket's private side, as actors/channel_actor.cpp has it; that file is
// not linked here, so this is the only definition in the fuzz binary. Without
// an actor bound, push() holds its frames, and the fuzzer takes them here.
class channel_runtime {
public:
  static std::vector<outbound_frame> take_pushed(socket& s) {
    if (!s.extras_ || !s.extras_->held)
      return {};
    auto xs = std::move(*s.extras_->held);
    s.extras_->held.reset();
    return xs;
  }
};

} // namespace chanstate

using namespace chanstate;
using chanstate::fuzz::check;

namespace {

void check_sent(const outbound_frame& f) {
  auto text = encode_frame(f);
  check(chanstate::fuzz::parses_as_json(text), "a sent frame is JSON");
  check(decode_frame(text).error == wire_error::none,
        "a sent frame decodes as a v2 frame");
}

void check_assigns(socket& s, const boost::json::array& added) {
  auto text = boost::json::serialize(s.assigns_object());
  check(chanstate::fuzz::parses_as_json(text), "committed assigns are JSON");
  // "ns" and the demo's storage levels and chunks ("ns.l1", "ns.0", ...).
  for (const auto& e : s.assigns().items()) {
    if (e.first != "ns" && e.first.rfind("ns.", 0) != 0)
      continue;
    check(e.second->is_array(), "ns is a list");
    for (const auto& n : e.second->get_array())
      check(n.is_int64() || n.is_uint64(), "ns holds only integers");
  }
  // The list read back is exactly the accepted adds, in order, whatever
  // storage levels it is spread over.
  auto r = demo_channel{false}.handle_in("get", {}, s);
  check(r.answer && r.answer->materialized_response().at("ns") == added,
        "get answers every accepted add, in order");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto input = fuzz::as_text(data, size);
  demo_channel ch{false}; // abort stays disabled: it would end the fuzzer
  socket s{"room:fuzz", "fuzzer", "1", snapshot{}, false, ""};
  boost::json::array added;
  check_sent(make_reply(frame_kind::join_ok, "1", "1", "room:fuzz", "ok",
                        ch.join({}, s).response));
  while (!input.empty()) {
    auto nl = input.find('\n');
    auto line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view{}
                                         : input.substr(nl + 1);
    auto d = decode_frame(line);
    if (d.error != wire_error::none)
      continue; // the transport answers these; the channel never sees them
    try {
      auto r = ch.handle_in(d.frame.event, d.frame.payload, s);
      // An add without an error reply appended its n.
      if (d.frame.event == "add" && !r.answer)
        added.push_back(d.frame.payload.at("n"));
      if (r.answer) {
        // As the channel actor sends it: shared lists ride by pointer and
        // are written out by the codec.
        auto f = make_reply(frame_kind::reply, "1", d.frame.ref, s.topic(),
                            r.answer->status, std::move(r.answer->response));
        if (!r.answer->shared.empty())
          f.payload.shared = std::make_shared<const shared_lists>(
            shared_lists{"response", std::move(r.answer->shared)});
        check_sent(f);
      }
    } catch (const std::runtime_error&) {
      // oopsy: the channel crashes on purpose; the actor would restart it.
    }
    for (auto& f : channel_runtime::take_pushed(s))
      check_sent(f);
    check_assigns(s, added);
  }
  return 0;
}
