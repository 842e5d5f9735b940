// Payloads with shared lists read and write as if the lists were copied in.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <boost/json.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <chanstate/actors/channel.hpp>
#include <chanstate/actors/json_payload.hpp>

using namespace chanstate;
namespace json = boost::json;

namespace {

std::shared_ptr<const json::value> part(json::array xs) {
  return std::make_shared<const json::value>(std::move(xs));
}

// {"status": "ok", "response": {"x": 1, "ns": <old>}} with ns shared as
// [1, 2] ++ [] ++ [3, "four", {"five": 5}]; the shared ns wins over the
// response's own.
json_payload reply_like() {
  json_payload p{json::object{{"status", "ok"},
                              {"response", json::object{{"x", 1},
                                                        {"ns", "old"}}}}};
  p.shared = std::make_shared<const shared_lists>(shared_lists{
    "response",
    {{"ns",
      {part({1, 2}), part({}), part({3, "four", json::object{{"five", 5}}})}}}});
  return p;
}

const json::value expected = json::parse(
  R"({"status":"ok","response":{"x":1,"ns":[1,2,3,"four",{"five":5}]}})");

} // namespace

TEST_CASE("a shared list is written out as the array it stands for") {
  auto p = reply_like();
  CHECK(json::parse(serialize_payload(p)) == expected);
  // The lists are read where they lie: the parts are not touched.
  CHECK(p.shared->lists[0].parts[0]->as_array() == json::array{1, 2});
}

TEST_CASE("materialize copies the shared lists into the object") {
  auto p = reply_like();
  p.materialize();
  CHECK(p.shared == nullptr);
  CHECK(json::value(p.value) == expected);
  CHECK(json::parse(serialize_payload(p)) == expected);
}

TEST_CASE("shared lists at the top, or under a member that is missing") {
  json_payload top{json::object{{"a", 1}}};
  top.shared = std::make_shared<const shared_lists>(
    shared_lists{"", {{"l", {part({7}), part({8})}}}});
  CHECK(json::parse(serialize_payload(top))
        == json::parse(R"({"a":1,"l":[7,8]})"));
  json_payload missing{json::object{{"status", "ok"}}};
  missing.shared = std::make_shared<const shared_lists>(
    shared_lists{"response", {{"l", {part({9})}}}});
  auto text = serialize_payload(missing);
  missing.materialize();
  CHECK(json::parse(text)
        == json::parse(R"({"status":"ok","response":{"l":[9]}})"));
  CHECK(json::value(missing.value) == json::parse(text));
}

TEST_CASE("a payload with shared lists crosses a process boundary whole") {
  auto p = reply_like();
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE(!sink(p));
  json_payload back;
  caf::binary_deserializer source{nullptr, buf};
  REQUIRE(!source(back));
  CHECK(back.shared == nullptr);
  CHECK(json::value(back.value) == expected);
}

TEST_CASE("a reply's shared list reads back whole") {
  auto r = ok({{"x", 1}});
  r.share_list("ns", {part({1}), part({2, 3})});
  CHECK(json::value(r.materialized_response())
        == json::parse(R"({"x":1,"ns":[1,2,3]})"));
}
