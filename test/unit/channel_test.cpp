// The channel actor: restore, hold, serve, commit, and every way it ends.
#include <doctest/doctest.h>

#include "actors/testing/channel_case.hpp"
#include "probe_channel.hpp"

using namespace chanstate;
using namespace chanstate::testing;
using chanstate::test::probe_channel_factory;

namespace {

struct probe_case : channel_case {
  explicit probe_case(case_options opts = {}) : channel_case(std::move(opts)) {
    REQUIRE(!route("probe:*", probe_channel_factory()));
  }

  void set(const channel_handle& ch, const char* key, boost::json::value v) {
    push(ch, "set", {{"key", key}, {"value", std::move(v)}});
  }

  boost::json::object assigns(const channel_handle& ch) {
    auto r = call(ch, "get");
    REQUIRE(r);
    return r->response.at("assigns").as_object();
  }
};

} // namespace

TEST_CASE_FIXTURE(probe_case, "a crashed channel resumes from its last commit") {
  auto ch = join("probe:1", "alice");
  REQUIRE(joined(ch));
  CHECK(join_reply(ch)->response["restored"] == false);
  set(ch, "x", 1);
  crash(ch);
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == channel_exit::crashed);
  auto again = rejoin(ch);
  CHECK(join_reply(again)->response["restored"] == true);
  CHECK(assigns(again) == boost::json::object{{"x", 1}});
}
