// The Phoenix v2 codec: frames phoenix.js sends and what it must receive.
#include <chanstate/endpoint/wire_codec.hpp>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

using namespace chanstate;

namespace {

wire_error error_of(std::string_view text) {
  return decode_frame(text).error;
}

} // namespace

TEST_CASE("a join frame decodes with its refs, topic, event and params") {
  auto d = decode_frame(R"(["6","6","room:lobby","phx_join",{"name":"bob"}])");
  REQUIRE(d.error == wire_error::none);
  CHECK(d.frame.join_ref == "6");
  CHECK(d.frame.ref == "6");
  CHECK(d.frame.topic == "room:lobby");
  CHECK(d.frame.event == "phx_join");
  CHECK(d.frame.payload == boost::json::object{{"name", "bob"}});
}

TEST_CASE("a heartbeat's null join_ref decodes as the empty string") {
  auto d = decode_frame(R"([null,"15","phoenix","heartbeat",{}])");
  REQUIRE(d.error == wire_error::none);
  CHECK(d.frame.join_ref.empty());
  CHECK(d.frame.ref == "15");
}

TEST_CASE("elements after the fifth are ignored, as Phoenix does") {
  CHECK(error_of(R"(["1","2","t","e",{},"extra",7])") == wire_error::none);
}

TEST_CASE("text that is not JSON is refused as a whole") {
  CHECK(error_of("not json") == wire_error::invalid_json);
  CHECK(error_of(R"(["1","2","t","e",{})") == wire_error::invalid_json);
  CHECK(error_of("") == wire_error::invalid_json);
  CHECK(is_fatal(wire_error::invalid_json));
}

TEST_CASE("JSON of the wrong shape names what is wrong") {
  CHECK(error_of(R"({"topic":"t"})") == wire_error::not_an_array);
  CHECK(error_of(R"("hello")") == wire_error::not_an_array);
  CHECK(error_of(R"(["1","2","t","e"])") == wire_error::too_few_elements);
  CHECK(error_of("[]") == wire_error::too_few_elements);
  CHECK(error_of(R"([1,"2","t","e",{}])") == wire_error::bad_join_ref);
  CHECK(error_of(R"(["1",2,"t","e",{}])") == wire_error::bad_ref);
  CHECK(error_of(R"(["1","2",null,"e",{}])") == wire_error::bad_topic);
  CHECK(error_of(R"(["1","2","t",["e"],{}])") == wire_error::bad_event);
  for (auto e : {wire_error::not_an_array, wire_error::too_few_elements,
                 wire_error::bad_join_ref, wire_error::bad_ref,
                 wire_error::bad_topic, wire_error::bad_event})
    CHECK(is_fatal(e));
}

TEST_CASE("a payload that is not an object keeps the rest for a reply") {
  auto d = decode_frame(R"(["1","2","room:a","add",[1,2]])");
  CHECK(d.error == wire_error::payload_not_object);
  CHECK_FALSE(is_fatal(d.error));
  CHECK(d.frame.join_ref == "1");
  CHECK(d.frame.ref == "2");
  CHECK(d.frame.topic == "room:a");
  CHECK(d.frame.event == "add");
  CHECK(error_of(R"(["1","2","t","e",null])") == wire_error::payload_not_object);
  CHECK(error_of(R"(["1","2","t","e","x"])") == wire_error::payload_not_object);
}

TEST_CASE("a number beyond double range is refused, never re-encoded") {
  CHECK(error_of(R"(["1","2","t","e",{"n":1e400}])")
        == wire_error::non_finite_number);
  CHECK(error_of(R"(["1","2","t","e",{"a":[{"b":-1e999}]}])")
        == wire_error::non_finite_number);
  CHECK(error_of(R"(["1","2","t","e",{"n":1e300}])") == wire_error::none);
}

TEST_CASE("every error has a reason short enough for a close frame") {
  for (int i = 0; i <= static_cast<int>(wire_error::payload_not_object); ++i) {
    std::string_view reason = to_string(static_cast<wire_error>(i));
    CHECK_FALSE(reason.empty());
    CHECK(reason.size() <= 123); // RFC 6455: close reason fits 125 bytes
  }
}

TEST_CASE("a reply encodes with null for missing refs") {
  auto f = make_reply(frame_kind::reply, "", "1", "room:x", "error",
                      {{"reason", "unmatched topic"}});
  CHECK(encode_frame(f)
        == R"([null,"1","room:x","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}])");
}

TEST_CASE("a push and a broadcast encode with ref null") {
  outbound_frame push;
  push.kind = frame_kind::push;
  push.join_ref = "6";
  push.topic = "room:lobby";
  push.event = "echo";
  push.payload.value = {{"x", 1}};
  CHECK(encode_frame(push) == R"(["6",null,"room:lobby","echo",{"x":1}])");
  push.join_ref.clear();
  CHECK(encode_frame(push) == R"([null,null,"room:lobby","echo",{"x":1}])");
}

TEST_CASE("strings are escaped on the way out and decode back") {
  outbound_frame f;
  f.join_ref = "1";
  f.ref = "2";
  f.topic = "room:\"q\"";
  f.event = "e\n";
  f.payload.value = {{"s", "\xc3\xa9\\"}};
  auto d = decode_frame(encode_frame(f));
  REQUIRE(d.error == wire_error::none);
  CHECK(d.frame.topic == f.topic);
  CHECK(d.frame.event == f.event);
  CHECK(d.frame.payload == f.payload.value);
}

TEST_CASE("a frame encodes to exactly what serializing its array gives") {
  // encode_frame writes the text itself; it must stay the text Boost.JSON
  // gives for [join_ref, ref, topic, event, payload], escapes included,
  // for payloads long enough to need more than one buffer.
  boost::json::array list;
  for (int i = 0; i < 500; ++i)
    list.emplace_back(i);
  for (std::string topic : {std::string{"room:1"},
                            std::string{"r\x01\x1f\"\\/\xc3\xa9"}}) {
    outbound_frame f;
    f.join_ref = "12";
    f.ref = topic.size() > 6 ? "" : "7\t";
    f.topic = topic;
    f.event = "phx_reply";
    f.payload.value = {{"status", "ok"}, {"response", {{"ns", list}}}};
    boost::json::array a{boost::json::string{f.join_ref},
                         f.ref.empty() ? boost::json::value{}
                                       : boost::json::string{f.ref},
                         boost::json::string{f.topic},
                         boost::json::string{f.event}, f.payload.value};
    CHECK(encode_frame(f) == boost::json::serialize(a));
  }
}
