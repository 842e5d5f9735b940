// The channel actor's bounds: backups expire, are swept and capped, and
// crashes without progress set a state aside.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include "probe_case.hpp"

using namespace chanstate;
using namespace chanstate::testing;
using namespace std::chrono_literals;
using chanstate::test::probe_case;
namespace json = boost::json;

// -- bounds -------------------------------------------------------------------

namespace {

/// Backups expire 2 s after their channel ended; the sweep runs every 500 ms.
case_options two_second_ttl() {
  case_options opts;
  opts.registry.backup_ttl = 2s;
  opts.registry.sweep_interval = 500ms;
  return opts;
}

} // namespace

TEST_CASE("a backup expires after its TTL in virtual time") {
  probe_case t{two_second_ttl()};
  auto ch = t.alice_with_x();
  t.crash(ch);
  t.advance(2s - 1ms);
  CHECK(t.backup("probe:1", "alice"));
  auto again = t.rejoin(ch); // restored just in time
  CHECK(t.restored(again) == true);
  t.crash(again);
  t.advance(2s);
  // Expired, even if no sweep ran since.
  auto late = t.rejoin(ch);
  CHECK(t.restored(late) == false);
  CHECK(t.assigns(late).empty());
  CHECK(t.stat("drops", "expired") == 1);
}

TEST_CASE("the sweep drops expired backups nobody asks for") {
  probe_case t{two_second_ttl()};
  auto ch = t.alice_with_x();
  t.crash(ch);
  t.advance(2s - 1ms);
  CHECK(t.stat(nullptr, "backups") == 1);
  t.advance(1ms + 500ms);
  CHECK_FALSE(t.backup("probe:1", "alice"));
  CHECK(t.stat("drops", "expired") == 1);
  CHECK(t.stat(nullptr, "backups") == 0);
  CHECK(t.stat(nullptr, "backup_bytes") == 0);
}

TEST_CASE("the backup caps evict the oldest backups first and count them") {
  case_options opts;
  opts.registry.max_backups = 2;
  probe_case t{opts};
  std::vector<channel_handle> chs;
  for (const char* who : {"a", "b", "c"}) {
    chs.push_back(t.join("probe:1", who));
    t.set(chs.back(), "who", who);
    t.advance(1ms);
  }
  for (auto& ch : chs)
    t.crash(ch);
  CHECK_FALSE(t.backup("probe:1", "a"));
  CHECK(t.backup("probe:1", "b"));
  CHECK(t.backup("probe:1", "c"));
  CHECK(t.stat("drops", "evicted") == 1);
  CHECK(t.stat(nullptr, "backups") == 2);
  CHECK(t.restored(t.rejoin(chs[0])) == false);
  CHECK(t.restored(t.rejoin(chs[1])) == true);
}

namespace {

/// Only the last commit is kept: the poison guard quarantines at once
/// instead of falling back (poison_test covers the fallback).
case_options one_generation() {
  case_options opts;
  opts.registry.generations = 1;
  return opts;
}

} // namespace

TEST_CASE("crashes without progress in a row set the state aside and the "
          "next join says why") {
  probe_case t{one_generation()};
  auto ch = t.alice_with_x();
  t.crash(ch); // after progress (set): kept
  for (int i = 0; i < 3; ++i) {
    ch = t.rejoin(ch);
    CHECK(t.restored(ch) == true);
    t.crash(ch); // before any client event completed
  }
  CHECK_FALSE(t.backup("probe:1", "alice"));
  auto after = t.rejoin(ch);
  auto r = t.join_reply(after);
  REQUIRE(r);
  CHECK(r->response.at("restored") == false);
  REQUIRE(r->response.contains("note"));
  CHECK(r->response.at("note").as_string().find("quarantined") == 0);
  CHECK(t.assigns(after).empty());
  CHECK(t.stat("drops", "quarantined") == 1);
  CHECK(t.stat("restores", "refused_poison") == 1);
}

TEST_CASE("crashes in quick succession keep restoring while each followed "
          "progress") {
  probe_case t{one_generation()};
  auto ch = t.alice_with_x();
  for (int i = 0; i < 10; ++i) {
    t.crash(ch);
    ch = t.rejoin(ch);
    CHECK(t.restored(ch) == true);
    CHECK(t.assigns(ch) == json::object{{"x", 1}}); // a completed event
  }
  CHECK(t.stat("drops", "quarantined") == 0);
  CHECK(t.stat("quarantine", "crashes_without_progress") == 0);
}
