// Cold backups: the packed form, the sweep that packs, restores that unpack.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/registry/backup_table.hpp>
#include <chanstate/registry/packed_backup.hpp>
#include <chanstate/registry/registry_error.hpp>
#include "probe_channel.hpp"

using namespace chanstate;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// Same value and same JSON kind all the way down (operator== would let an
// int64 equal a uint64).
bool same_kinds(const json::value& a, const json::value& b) {
  if (a.kind() != b.kind() || a != b)
    return false;
  if (a.is_array()) {
    const auto& xs = a.get_array();
    const auto& ys = b.get_array();
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (!same_kinds(xs[i], ys[i]))
        return false;
  }
  if (a.is_object()) {
    auto i = a.get_object().begin();
    auto j = b.get_object().begin();
    for (; i != a.get_object().end(); ++i, ++j)
      if (i->key() != j->key() || !same_kinds(i->value(), j->value()))
        return false;
  }
  return true;
}

json::object every_kind() {
  return json::object{
    {"null", nullptr},
    {"yes", true},
    {"no", false},
    {"small", -3},
    {"min", std::numeric_limits<std::int64_t>::min()},
    {"big", std::numeric_limits<std::uint64_t>::max()},
    {"tenth", 0.1},
    {"negzero", -0.0},
    {"huge", 1e300},
    {"text", "caf\xc3\xa9 \"quoted\"\n\\"},
    {"nul", json::string{std::string{"a\0b", 3}}},
    {"ints", json::array{1, -2, 300000, std::int64_t{1} << 40}},
    {"mixed", json::array{1, "two", 3.5, nullptr, json::array{}, json::object{}}},
    {"uints", json::array{std::uint64_t{1}, std::uint64_t{2}}},
    {"empty", json::array{}},
    // Key order inside a value is kept (serialize shows it).
    {"nested", json::object{{"b", 1}, {"a", json::object{{"z", json::array{1}}}}}},
  };
}

snapshot list100(std::int64_t base) {
  json::array xs;
  for (std::int64_t j = 0; j < 100; ++j)
    xs.push_back(base + j);
  return snapshot::from_object({{"items", std::move(xs)}});
}

snapshot assigns(int x) {
  return snapshot::from_object({{"x", x}, {"pad", std::string(200, 'p')}});
}

caf::behavior idle(caf::event_based_actor*, int) {
  return {[](int) {}};
}

registry_config pack_config() {
  registry_config cfg;
  cfg.backup_ttl = 60s;
  cfg.pack_after = 2s;
  return cfg;
}

/// A table plus actors whose addresses stand in for channels.
struct pack_case {
  explicit pack_case(registry_config cfg = pack_config()) : table(cfg) {
  }

  /// A channel on `key` commits `first`, then `second`, and crashes.
  void crash_with(const backup_key& key, const snapshot& first,
                  const snapshot& second) {
    auto a = bench.system().spawn(idle, 0);
    bench.watch(a);
    auto out = table.attach(key, a.address(), now);
    out.cell->store(first);
    out.cell->store(second);
    out.cell->event_completed();
    table.detach(a.address(), caf::make_error(channel_exit::crashed, "x"),
                 now);
  }

  testing::channel_case bench;
  backup_table table;
  time_point now{};
};

const backup_key alice{"room:1", "alice"};
const backup_key bob{"room:1", "bob"};
const backup_key carol{"room:1", "carol"};

} // namespace

TEST_CASE("a packed backup unpacks to the same text and the same kinds") {
  auto newest = snapshot::from_object(every_kind());
  auto older = newest.with("small", json::value(4)).without("huge");
  auto p = packed_backup::pack(newest, {older, snapshot{}});
  auto gens = p.unpack();
  REQUIRE(gens);
  REQUIRE(gens->size() == 3);
  CHECK(json::serialize((*gens)[0].to_object())
        == json::serialize(newest.to_object()));
  CHECK(json::serialize((*gens)[1].to_object())
        == json::serialize(older.to_object()));
  CHECK((*gens)[2].empty());
  for (const auto& e : newest.items())
    CHECK(same_kinds(*(*gens)[0].find(e.first), *e.second));
  // What the two generations shared by pointer is shared again.
  CHECK((*gens)[0].find_ptr("text") == (*gens)[1].find_ptr("text"));
  CHECK((*gens)[0].find_ptr("small") != (*gens)[1].find_ptr("small"));
}

TEST_CASE("a list of 100 integers packs to a fraction of its tree") {
  auto s = list100(100'000);
  auto p = packed_backup::pack(s, {});
  // ~3 bytes per integer against the tree's 16-24 per element.
  CHECK(p.byte_size() < 330);
  CHECK(p.byte_size() * 4 < s.byte_size());
  auto gens = p.unpack();
  REQUIRE(gens);
  CHECK((*gens)[0].to_object() == s.to_object());
}

TEST_CASE("the sweep packs only backups older than pack_after, oldest "
          "first, within its budget") {
  pack_case c;
  c.crash_with(alice, assigns(1), assigns(2));
  c.now += 1s;
  c.crash_with(bob, assigns(3), assigns(4));
  c.now += 1500ms;
  c.crash_with(carol, assigns(5), assigns(6));
  auto hot_bytes = c.table.backup_bytes();
  // alice is 2.5 s old, bob 1.5 s, carol 0 s: only alice is cold.
  CHECK(c.table.has_cold(c.now));
  CHECK(c.table.pack_cold(c.now, 100) == 1);
  CHECK(c.table.packed_count() == 1);
  CHECK_FALSE(c.table.has_cold(c.now));
  // A budget of one packs one, and says whether more are cold.
  c.now += 4s;
  CHECK(c.table.pack_cold(c.now, 1) == 1);
  CHECK(c.table.has_cold(c.now));
  CHECK(c.table.pack_cold(c.now, 1) == 1);
  CHECK_FALSE(c.table.has_cold(c.now));
  CHECK(c.table.packed_count() == 3);
  CHECK(c.table.pack_cold(c.now, 100) == 0);
  // Nothing is lost and a look at a packed backup gives the newest commit.
  CHECK(c.table.peek_backup(bob)->to_object() == assigns(4).to_object());
  auto s = c.table.stats();
  CHECK(s.at("packed_backups") == 3);
  CHECK(s.at("packing").at("packed") == 3);
  CHECK(s.at("limits").at("pack_after_ms") == 2000);
  CHECK(c.table.backup_bytes() < hot_bytes);
}

TEST_CASE("the byte count is exact before and after packing and after the "
          "restore of a packed backup") {
  pack_case c;
  auto a = assigns(1), b = assigns(2);
  c.crash_with(alice, a, b);
  // Hot: both generations at their estimated size.
  CHECK(c.table.backup_bytes() == a.byte_size() + b.byte_size());
  c.now += 2s;
  REQUIRE(c.table.pack_cold(c.now, 100) == 1);
  auto packed = packed_backup::pack(b, {a});
  // Cold: exactly the packed bytes.
  CHECK(c.table.backup_bytes() == packed.byte_size());
  CHECK(c.table.stats().at("backup_bytes") == packed.byte_size());
  auto ch = c.bench.system().spawn(idle, 0);
  c.bench.watch(ch);
  auto out = c.table.attach(alice, ch.address(), c.now);
  CHECK(out.restored);
  CHECK(c.table.backup_bytes() == 0);
  CHECK(c.table.packed_count() == 0);
  CHECK(c.table.counters().restores_from_packed == 1);
  // The newest commit and the generation before it, both back.
  auto gens = out.cell->generations();
  REQUIRE(gens.size() == 2);
  CHECK(gens[0].to_object() == b.to_object());
  CHECK(gens[1].to_object() == a.to_object());
}

TEST_CASE("packed backups expire and are evicted like hot ones") {
  auto cfg = pack_config();
  cfg.backup_ttl = 10s;
  cfg.max_backups = 2;
  pack_case c{cfg};
  c.crash_with(alice, assigns(1), assigns(2));
  c.now += 3s;
  REQUIRE(c.table.pack_cold(c.now, 100) == 1);
  auto alice_bytes = c.table.backup_bytes();
  c.crash_with(bob, assigns(3), assigns(4));
  // A third backup evicts the oldest, packed one, counting its packed bytes.
  c.crash_with(carol, assigns(5), assigns(6));
  CHECK_FALSE(c.table.peek_backup(alice));
  CHECK(c.table.counters().evicted == 1);
  CHECK(c.table.counters().evicted_bytes == alice_bytes);
  CHECK(c.table.packed_count() == 0);
  // The sweep resumes after the evicted one: bob and carol pack later.
  c.now += 3s;
  CHECK(c.table.pack_cold(c.now, 100) == 2);
  CHECK(c.table.packed_count() == 2);
  // Then both expire, packed, and the count goes back to zero.
  c.now += 10s;
  CHECK(c.table.expire(c.now) == 2);
  CHECK(c.table.backup_count() == 0);
  CHECK(c.table.backup_bytes() == 0);
  CHECK(c.table.packed_count() == 0);
  // A new backup after all that still gets packed.
  c.crash_with(alice, assigns(7), assigns(8));
  c.now += 2s;
  CHECK(c.table.pack_cold(c.now, 100) == 1);
  CHECK(c.table.peek_backup(alice)->to_object() == assigns(8).to_object());
}

TEST_CASE("a byte cap that only packed backups fit is kept by packing") {
  auto cfg = pack_config();
  pack_case c{cfg};
  c.crash_with(alice, list100(1), list100(2));
  c.now += 2s;
  REQUIRE(c.table.pack_cold(c.now, 100) == 1);
  // The cap counts the packed size: the backup is well under its tree size.
  CHECK(c.table.backup_bytes() * 4 < list100(1).byte_size() * 2);
}

TEST_CASE("pack_after 0 never packs") {
  auto cfg = pack_config();
  cfg.pack_after = 0ms;
  pack_case c{cfg};
  c.crash_with(alice, assigns(1), assigns(2));
  c.now += 1h;
  CHECK_FALSE(c.table.has_cold(c.now));
  CHECK(c.table.pack_cold(c.now, 100) == 0);
  CHECK(c.table.packed_count() == 0);
}

TEST_CASE("a quarantined backup is not packed and still refuses its "
          "restore") {
  auto cfg = pack_config();
  cfg.poison_crashes = 1;
  cfg.generations = 1;
  pack_case c{cfg};
  c.crash_with(alice, assigns(1), assigns(2));
  // A restored state that crashes before progress: quarantined at once.
  auto ch = c.bench.system().spawn(idle, 0);
  c.bench.watch(ch);
  REQUIRE(c.table.attach(alice, ch.address(), c.now).restored);
  c.table.detach(ch.address(), caf::make_error(channel_exit::crashed, "j"),
                 c.now);
  REQUIRE(c.table.counters().poison_quarantined == 1);
  c.now += 2s;
  c.table.pack_cold(c.now, 100);
  CHECK(c.table.packed_count() == 0);
  auto next = c.bench.system().spawn(idle, 0);
  c.bench.watch(next);
  auto out = c.table.attach(alice, next.address(), c.now);
  CHECK_FALSE(out.restored);
  CHECK(out.reason.find("quarantined") != std::string::npos);
}

// -- through the registry actor (deterministic scheduler) --------------------

namespace {

struct registry_pack_case : testing::channel_case {
  explicit registry_pack_case(testing::case_options opts)
    : channel_case(std::move(opts)) {
    REQUIRE(!route("probe:*", test::probe_channel_factory()));
  }

  static testing::case_options options() {
    testing::case_options opts;
    opts.registry.backup_ttl = 60s;
    opts.registry.sweep_interval = 1s;
    opts.registry.pack_after = 2s;
    return opts;
  }

  static json::array list100() {
    json::array xs;
    for (int i = 0; i < 100; ++i)
      xs.push_back(1000 + i);
    return xs;
  }

  /// probe:1 / alice holding 100 integers, then crashed (a throw).
  testing::channel_handle crashed_alice() {
    auto ch = join("probe:1", "alice");
    REQUIRE(joined(ch));
    push(ch, "set", {{"key", "items"}, {"value", list100()}});
    push(ch, "set_then_throw", {{"key", "name"}, {"value", "alice"}});
    run();
    REQUIRE_FALSE(alive(ch));
    return ch;
  }

  json::object restored_assigns(const testing::channel_handle& ch) {
    auto r = join_reply(ch);
    REQUIRE(r);
    REQUIRE(r->response.at("restored") == true);
    return r->response.at("assigns").as_object();
  }
};

} // namespace

TEST_CASE("the registry's sweep packs a backup nobody restored and a later "
          "join restores it unchanged") {
  registry_pack_case t{registry_pack_case::options()};
  auto ch = t.crashed_alice();
  auto hot = t.stats();
  CHECK(hot.at("packed_backups") == 0);
  auto text = json::serialize(*t.backup("probe:1", "alice"));
  // Sweeps at 1 s (too young) and 2 s (cold: packed).
  t.advance(2s);
  auto cold = t.stats();
  CHECK(cold.at("packed_backups") == 1);
  CHECK(cold.at("backup_bytes").to_number<std::uint64_t>()
        < hot.at("backup_bytes").to_number<std::uint64_t>());
  // get shows the packed backup as the same text.
  CHECK(json::serialize(*t.backup("probe:1", "alice")) == text);
  auto again = t.rejoin(ch);
  CHECK(json::serialize(t.restored_assigns(again)) == text);
  auto after = t.stats();
  CHECK(after.at("packing").at("restores_from_packed") == 1);
  CHECK(after.at("backups") == 0);
  CHECK(after.at("backup_bytes") == 0);
}

TEST_CASE("a restore racing the packing sweep gets the same state in either "
          "order") {
  for (bool sweep_first : {false, true}) {
    CAPTURE(sweep_first);
    registry_pack_case t{registry_pack_case::options()};
    auto ch = t.crashed_alice();
    auto text = json::serialize(*t.backup("probe:1", "alice"));
    // The sweep at 1 s has run; the one that will pack is due in 1 ms.
    t.advance(2s - 1ms);
    REQUIRE(t.table().packed_count() == 0);
    t.autorun = false;
    auto again = t.rejoin(ch); // spawned; its restore request not sent yet
    if (sweep_first) {
      // The sweep's message reaches the registry before the restore.
      t.sched.advance_time(1ms);
      REQUIRE(t.run_one(again));
    } else {
      REQUIRE(t.run_one(again));
      t.sched.advance_time(1ms);
    }
    t.run();
    t.autorun = true;
    CHECK(json::serialize(t.restored_assigns(again)) == text);
    auto s = t.stats();
    CHECK(s.at("packing").at("restores_from_packed") == (sweep_first ? 1 : 0));
    CHECK(s.at("packed_backups") == 0);
    CHECK(s.at("backups") == 0);
    CHECK(s.at("backup_bytes") == 0);
  }
}

TEST_CASE("restores from the middle and at the sweep's place keep the age "
          "order of expiry, eviction and packing") {
  auto cfg = pack_config();
  cfg.backup_ttl = 10s;
  pack_case c{cfg};
  const backup_key dave{"room:1", "dave"};
  c.crash_with(alice, assigns(1), assigns(2));
  c.now += 1s;
  c.crash_with(bob, assigns(3), assigns(4));
  c.now += 1s;
  c.crash_with(carol, assigns(5), assigns(6));
  c.now += 1s;
  c.crash_with(dave, assigns(7), assigns(8));
  // alice and bob are cold: the sweep stops at bob.
  REQUIRE(c.table.pack_cold(c.now, 100) == 2);
  // Restore the backup the sweep stopped at, and one from the middle.
  auto restore = [&c](const backup_key& key) {
    auto ch = c.bench.system().spawn(idle, 0);
    c.bench.watch(ch);
    auto out = c.table.attach(key, ch.address(), c.now);
    CHECK(out.restored);
  };
  restore(bob);
  restore(carol);
  CHECK(c.table.backup_count() == 2);
  CHECK(c.table.packed_count() == 1);
  // The sweep goes on from alice to dave, not past the end nor from the
  // start again.
  CHECK_FALSE(c.table.has_cold(c.now));
  c.now += 2s;
  CHECK(c.table.has_cold(c.now));
  CHECK(c.table.pack_cold(c.now, 100) == 1);
  CHECK(c.table.packed_count() == 2);
  // Oldest first: alice expires at 10 s, dave at 13 s.
  CHECK(*c.table.next_expiry() == time_point{} + 10s);
  c.now = time_point{} + 10s;
  CHECK(c.table.expire(c.now) == 1);
  CHECK(*c.table.next_expiry() == time_point{} + 13s);
  CHECK(c.table.peek_backup(dave)->to_object() == assigns(8).to_object());
  CHECK(c.table.expire(time_point{} + 13s) == 1);
  CHECK_FALSE(c.table.next_expiry());
  CHECK(c.table.backup_bytes() == 0);
  CHECK(c.table.packed_count() == 0);
}

TEST_CASE("a packed backup's byte count includes its length prefix and "
          "nothing else") {
  auto s = assigns(7);
  auto p = packed_backup::pack(s, {});
  auto payload = p.bytes().size();
  REQUIRE(payload > 0);
  // A varint: 7 bits per byte.
  CHECK(p.byte_size() == payload + (payload < 128 ? 1 : 2));
  CHECK(packed_backup{}.byte_size() == 0);
  CHECK(packed_backup{}.bytes().empty());
  // A large one (a 1 KB string) takes two.
  boost::json::object big{{"blob", std::string(1024, 'x')}};
  auto q = packed_backup::pack(snapshot::from_object(big), {});
  CHECK(q.bytes().size() > 1024);
  CHECK(q.byte_size() == q.bytes().size() + 2);
  CHECK(q.unpack()->front().to_object() == big);
}
