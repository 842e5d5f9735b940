// The unit tests' channel bench: the probe channel on "probe:*", the demo
// on "room:*", and helpers that read the probe's state.
#pragma once

#include <cstdint>
#include <utility>

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/testing/channel_case.hpp>
#include "probe_channel.hpp"

namespace chanstate::test {

/// The bench with the probe channel on "probe:*" and the demo on "room:*".
struct probe_case : testing::channel_case {
  explicit probe_case(testing::case_options opts = {})
    : channel_case(std::move(opts)) {
    REQUIRE(!route("probe:*", probe_channel_factory()));
    REQUIRE(!route("room:*", demo_channel_factory()));
    terminate_log().clear();
  }

  void set(const testing::channel_handle& ch, const char* key,
           boost::json::value v) {
    push(ch, "set", {{"key", key}, {"value", std::move(v)}});
  }

  boost::json::object assigns(const testing::channel_handle& ch) {
    auto r = call(ch, "get");
    REQUIRE(r);
    REQUIRE(r->status == "ok");
    return r->response.at("assigns").as_object();
  }

  boost::json::value restored(const testing::channel_handle& ch) {
    auto r = join_reply(ch);
    REQUIRE(r);
    return r->response.at("restored");
  }

  /// A counter of the registry's stats; `group` null for a top-level one.
  std::uint64_t stat(const char* group, const char* name) {
    auto s = stats();
    return group ? s.at(group).at(name).to_number<std::uint64_t>()
                 : s.at(name).to_number<std::uint64_t>();
  }

  /// Joins probe:1 as alice with {"x": 1} committed.
  testing::channel_handle alice_with_x() {
    auto ch = join("probe:1", "alice");
    REQUIRE(joined(ch));
    CHECK(restored(ch) == false);
    set(ch, "x", 1);
    REQUIRE(live("probe:1", "alice") == boost::json::object{{"x", 1}});
    return ch;
  }

  /// The common tail of the "kept" rows: a backup, and a restoring rejoin.
  void expect_kept(const testing::channel_handle& ch) {
    CHECK_FALSE(alive(ch));
    CHECK(backup("probe:1", "alice") == boost::json::object{{"x", 1}});
    auto again = rejoin(ch);
    CHECK(restored(again) == true);
    CHECK(assigns(again) == boost::json::object{{"x", 1}});
  }

  /// The common tail of the "discarded" rows: no backup, a fresh rejoin.
  void expect_discarded(const testing::channel_handle& ch) {
    CHECK_FALSE(alive(ch));
    CHECK_FALSE(backup("probe:1", "alice"));
    CHECK(stat("exits", "discarded_normal") == 1);
    auto again = rejoin(ch);
    CHECK(restored(again) == false);
    CHECK(assigns(again).empty());
  }
};

} // namespace chanstate::test
