// The demo channel (room:*): the contract the node, the tests and the
// benchmarks share.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/registry/registry_error.hpp>

using namespace chanstate;
using namespace chanstate::testing;
namespace json = boost::json;

namespace {

struct demo_case : channel_case {
  demo_case() {
    REQUIRE(!route("room:*", demo_channel_factory()));
  }

  json::value ns(const channel_handle& ch) {
    auto r = call(ch, "get");
    REQUIRE(r);
    REQUIRE(r->status == "ok");
    return r->response.at("ns");
  }

  void add(const channel_handle& ch, std::int64_t n) {
    push(ch, "add", {{"n", n}});
  }

  /// Crashes `ch` (oopsy) and rejoins: the join reply must show `want`.
  channel_handle crash_and_rejoin(const channel_handle& ch,
                                  const json::array& want) {
    push(ch, "oopsy");
    REQUIRE(exit_reason(ch));
    CHECK(*exit_reason(ch) == channel_exit::crashed);
    auto again = rejoin(ch);
    CHECK(join_reply(again)->response
          == json::object{{"restored", true}, {"ns", want}});
    return again;
  }
};

} // namespace

TEST_CASE_FIXTURE(demo_case, "the seed scenario: add, crash, rejoin, get") {
  auto ch = join("room:lobby", "seed");
  REQUIRE(join_reply(ch));
  CHECK(join_reply(ch)->status == "ok");
  CHECK(join_reply(ch)->response
        == json::object{{"restored", false}, {"ns", json::array{}}});
  add(ch, 2149);
  add(ch, 1234);
  CHECK(ns(ch) == json::array{2149, 1234});
  push(ch, "oopsy");
  REQUIRE(exit_reason(ch));
  CHECK(*exit_reason(ch) == channel_exit::crashed);
  auto again = rejoin(ch);
  CHECK(join_reply(again)->response
        == json::object{{"restored", true}, {"ns", json::array{2149, 1234}}});
  CHECK(ns(again) == json::array{2149, 1234});
}

TEST_CASE_FIXTURE(demo_case, "add with a bad n replies an error and changes "
                             "nothing") {
  auto ch = join("room:1", "alice");
  add(ch, 1);
  auto commits_before = live("room:1", "alice");
  REQUIRE(commits_before);
  const json::object bad_payloads[] = {
    {},
    {{"m", 1}},
    {{"n", "5"}},
    {{"n", 1.5}},
    {{"n", 2.0}},
    {{"n", true}},
    {{"n", nullptr}},
    {{"n", json::array{1}}},
    {{"n", json::object{{"n", 1}}}},
  };
  for (const auto& p : bad_payloads) {
    CAPTURE(json::serialize(p));
    auto r = call(ch, "add", p);
    REQUIRE(r);
    CHECK(r->status == "error");
    CHECK(r->response.at("reason").as_string().find("integer") 
          != json::string::npos);
    CHECK(alive(ch));
  }
  CHECK(ns(ch) == json::array{1});
  CHECK(live("room:1", "alice") == commits_before);
}

TEST_CASE_FIXTURE(demo_case, "add accepts every JSON integer, also beyond "
                             "int64") {
  auto ch = join("room:1", "alice");
  push(ch, "add", {{"n", -5}});
  push(ch, "add", {{"n", std::uint64_t{18446744073709551615ULL}}});
  CHECK(ns(ch)
        == json::array{-5, std::uint64_t{18446744073709551615ULL}});
}

TEST_CASE_FIXTURE(demo_case, "an unknown event replies an error naming it") {
  auto ch = join("room:1", "alice");
  auto r = call(ch, "dance", {{"n", 1}});
  REQUIRE(r);
  CHECK(r->status == "error");
  CHECK(r->response
        == json::object{{"reason", "unknown event"}, {"event", "dance"}});
  CHECK(alive(ch));
  CHECK(ns(ch) == json::array{});
}

TEST_CASE_FIXTURE(demo_case, "bye stops the channel normally and drops its "
                             "state") {
  auto ch = join("room:1", "alice");
  add(ch, 1);
  auto r = call(ch, "bye");
  REQUIRE(r);
  CHECK(r->status == "ok");
  REQUIRE(exit_reason(ch));
  CHECK_FALSE(*exit_reason(ch));
  auto again = rejoin(ch);
  CHECK(join_reply(again)->response
        == json::object{{"restored", false}, {"ns", json::array{}}});
}

TEST_CASE_FIXTURE(demo_case, "a kill after more adds restores every add") {
  auto ch = join("room:1", "alice");
  add(ch, 1);
  add(ch, 2);
  kill(ch);
  auto again = rejoin(ch);
  add(again, 3);
  CHECK(ns(again) == json::array{1, 2, 3});
}

TEST_CASE_FIXTURE(demo_case, "a long list (stored in chunks) reads back whole "
                             "and in order, after a crash too") {
  // 150 elements cross two chunk boundaries of the demo's storage; the wire
  // shows one list either way.
  auto ch = join("room:long", "alice");
  json::array want;
  for (std::int64_t n = 1; n <= 150; ++n) {
    add(ch, n * 7);
    want.push_back(n * 7);
  }
  CHECK(ns(ch) == want);
  auto again = crash_and_rejoin(ch, want);
  add(again, 1);
  want.push_back(1);
  CHECK(ns(again) == want);
}

TEST_CASE_FIXTURE(demo_case, "an add commits a small change: a few keys, a "
                             "tail of at most 8") {
  // The demo's storage levels (8, 64, 512, 4096, then frozen chunks): every
  // commit shares all but the small values an add touched, so a steady
  // stream of adds costs O(1) amortized, not O(list).
  auto ch = join("room:levels", "alice");
  json::array want;
  for (std::int64_t n = 1; n <= 5000; ++n) {
    add(ch, n);
    want.push_back(n);
  }
  auto saved = live("room:levels", "alice");
  REQUIRE(saved);
  CHECK(saved->size() <= 6);
  CHECK(saved->at("ns").as_array().size() <= 8);
  CHECK(saved->at("ns.l1").as_array().size() < 64);
  CHECK(saved->at("ns.l2").as_array().size() < 512);
  CHECK(saved->at("ns.l3").as_array().size() < 4096);
  CHECK(saved->at("ns.0").as_array().size() == 4096);
  CHECK(ns(ch) == want);
  crash_and_rejoin(ch, want);
}

TEST_CASE_FIXTURE(demo_case, "a state in the older 64-element chunk layout "
                             "restores and keeps growing in order") {
  // Saved by a build that kept "ns.<i>" chunks of 64 and a tail of up to 63.
  json::array c0, c1, tail, want;
  for (std::int64_t n = 1; n <= 64; ++n)
    c0.push_back(n);
  for (std::int64_t n = 65; n <= 128; ++n)
    c1.push_back(n);
  for (std::int64_t n = 129; n <= 191; ++n)
    tail.push_back(n);
  for (std::int64_t n = 1; n <= 191; ++n)
    want.push_back(n);
  REQUIRE(put_backup("room:old", "alice",
                     json::serialize(json::object{
                       {"ns.0", c0}, {"ns.1", c1}, {"ns", tail}})));
  auto ch = join("room:old", "alice");
  REQUIRE(join_reply(ch));
  CHECK(join_reply(ch)->response
        == json::object{{"restored", true}, {"ns", want}});
  for (std::int64_t n = 192; n <= 5000; ++n) {
    add(ch, n);
    want.push_back(n);
  }
  CHECK(ns(ch) == want);
  auto saved = live("room:old", "alice");
  REQUIRE(saved);
  CHECK(saved->at("ns").as_array().size() <= 8);
  // The old chunks stay as they were; the next frozen chunk follows them.
  CHECK(saved->at("ns.0").as_array() == c0);
  CHECK(saved->at("ns.2").as_array().size() >= 4096);
}

TEST_CASE_FIXTURE(demo_case, "a list with integers beyond int64 reads back "
                             "across every storage level") {
  auto ch = join("room:mixed", "alice");
  json::array want;
  for (std::int64_t n = 1; n <= 600; ++n) {
    if (n % 100 == 0) {
      push(ch, "add", {{"n", std::uint64_t{18446744073709551615ULL}}});
      want.push_back(std::uint64_t{18446744073709551615ULL});
    } else {
      add(ch, -n);
      want.push_back(-n);
    }
  }
  CHECK(ns(ch) == want);
}
