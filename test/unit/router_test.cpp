// Topic patterns: exact topics and "prefix*", matched in the order added.
#include <doctest/doctest.h>

#include <chanstate/actors/channel_error.hpp>
#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/router.hpp>
#include "probe_channel.hpp"

using namespace chanstate;

namespace {

bool is_demo(const channel_factory* f) {
  if (!f)
    return false;
  auto ch = (*f)();
  return dynamic_cast<demo_channel*>(ch.get()) != nullptr;
}

bool is_probe(const channel_factory* f) {
  if (!f)
    return false;
  auto ch = (*f)();
  return dynamic_cast<test::probe_channel*>(ch.get()) != nullptr;
}

} // namespace

TEST_CASE("a router refuses patterns that cannot match as written") {
  router r;
  for (const char* bad : {"", "*", "a*b", "room:**", "*room", "ro*om:*"}) {
    CAPTURE(bad);
    auto err = r.add(bad, demo_channel_factory());
    REQUIRE(err);
    CHECK(err == channel_error::invalid_pattern);
    CHECK(explain(err).find("invalid_pattern") == 0);
  }
  CHECK(r.add("room:*", nullptr) == channel_error::invalid_pattern);
  // Nothing that was refused was added.
  CHECK(r.match("room:1") == nullptr);
  CHECK(r.match("a") == nullptr);
  CHECK(r.match("") == nullptr);
}

TEST_CASE("a prefix pattern matches longer topics only, an exact one itself") {
  router r;
  REQUIRE(!r.add("room:*", demo_channel_factory()));
  REQUIRE(!r.add("lobby", test::probe_channel_factory()));
  CHECK(is_demo(r.match("room:1")));
  CHECK(is_demo(r.match("room:a:b")));
  CHECK(r.match("room:") == nullptr);
  CHECK(r.match("room") == nullptr);
  CHECK(r.match("roomy:1") == nullptr);
  CHECK(is_probe(r.match("lobby")));
  CHECK(r.match("lobby:1") == nullptr);
  CHECK(r.match("lobb") == nullptr);
}

TEST_CASE("routes are matched in the order they were added") {
  router r;
  REQUIRE(!r.add("room:vip", test::probe_channel_factory()));
  REQUIRE(!r.add("room:*", demo_channel_factory()));
  CHECK(is_probe(r.match("room:vip")));
  CHECK(is_demo(r.match("room:vip2")));
  router s;
  REQUIRE(!s.add("room:*", demo_channel_factory()));
  REQUIRE(!s.add("room:vip", test::probe_channel_factory()));
  CHECK(is_demo(s.match("room:vip")));
}
