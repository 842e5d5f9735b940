// The backup table on its own: TTL, caps and eviction, the poison guard.
#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/registry/backup_table.hpp>
#include <chanstate/registry/registry_error.hpp>

using namespace chanstate;
using namespace std::chrono_literals;

namespace {

caf::behavior idle(caf::event_based_actor*, int) {
  return {[](int) {}};
}

snapshot assigns(int x) {
  return snapshot::from_object({{"x", x}});
}

/// A table plus actors whose addresses stand in for channels.
struct table_case {
  explicit table_case(registry_config cfg) : table(cfg) {
  }

  caf::actor_addr channel() {
    auto a = bench.system().spawn(idle, 0);
    bench.watch(a);
    return a.address();
  }

  /// Attaches a channel to `key`, commits `x` (after a completed client
  /// event if `progress`), and ends it with `reason`.
  restore_outcome live_and_die(const backup_key& key, int x,
                               const caf::error& reason,
                               bool progress = true) {
    auto ch = channel();
    auto out = table.attach(key, ch, now);
    out.cell->store(assigns(x));
    if (progress)
      out.cell->event_completed();
    table.detach(ch, reason, now);
    return out;
  }

  /// Attaches a channel to `key` and crashes it before any client event
  /// completed (in join); `sees_progress` as attach takes it.
  restore_outcome crash_at_join(const backup_key& key,
                                bool sees_progress = true) {
    auto ch = channel();
    auto out = table.attach(key, ch, now, sees_progress);
    table.detach(ch, caf::make_error(channel_exit::crashed, "join"), now);
    return out;
  }

  int restored_x(const restore_outcome& out) {
    return static_cast<int>(out.cell->load().find("x")->as_int64());
  }

  testing::channel_case bench;
  backup_table table;
  time_point now{};
};

registry_config ttl_config(std::chrono::milliseconds ttl) {
  registry_config cfg;
  cfg.backup_ttl = ttl;
  return cfg;
}

const backup_key alice{"room:1", "alice"};
const backup_key bob{"room:1", "bob"};
const backup_key carol{"room:1", "carol"};

} // namespace

TEST_CASE("a backup expires after its TTL and the expiry is counted") {
  backup_table t{ttl_config(1000ms)};
  time_point t0{};
  t.put_backup(alice, assigns(1), t0);
  REQUIRE(t.next_expiry());
  CHECK(*t.next_expiry() == t0 + 1000ms);
  CHECK(t.expire(t0 + 999ms) == 0);
  CHECK(t.peek_backup(alice));
  CHECK(t.expire(t0 + 1000ms) == 1);
  CHECK_FALSE(t.peek_backup(alice));
  CHECK(t.counters().expired == 1);
  CHECK(t.backup_count() == 0);
  CHECK(t.backup_bytes() == 0);
  CHECK_FALSE(t.next_expiry());
}

TEST_CASE("an expired backup is not restored even before a sweep ran") {
  table_case c{ttl_config(1000ms)};
  c.table.put_backup(alice, assigns(1), c.now);
  auto out = c.table.attach(alice, c.channel(), c.now + 1000ms);
  CHECK_FALSE(out.restored);
  CHECK(out.cell->load().empty());
  CHECK(c.table.counters().expired == 1);
  CHECK(c.table.counters().restores_fresh == 1);
}

TEST_CASE("the entry cap evicts the oldest backup first and counts it") {
  registry_config cfg;
  cfg.max_backups = 2;
  backup_table t{cfg};
  time_point t0{};
  t.put_backup(alice, assigns(1), t0);
  t.put_backup(bob, assigns(2), t0 + 1ms);
  CHECK(t.counters().evicted == 0);
  t.put_backup(carol, assigns(3), t0 + 2ms);
  CHECK_FALSE(t.peek_backup(alice));
  CHECK(t.peek_backup(bob));
  CHECK(t.peek_backup(carol));
  CHECK(t.backup_count() == 2);
  CHECK(t.counters().evicted == 1);
  CHECK(t.counters().evicted_bytes == assigns(1).byte_size());
}

TEST_CASE("the byte cap evicts the oldest backups until the rest fits") {
  auto one = assigns(1).byte_size();
  registry_config cfg;
  cfg.max_backup_bytes = 2 * one + one / 2;
  backup_table t{cfg};
  time_point t0{};
  t.put_backup(alice, assigns(1), t0);
  t.put_backup(bob, assigns(2), t0);
  CHECK(t.backup_bytes() == 2 * one);
  t.put_backup(carol, assigns(3), t0);
  CHECK_FALSE(t.peek_backup(alice));
  CHECK(t.peek_backup(bob));
  CHECK(t.peek_backup(carol));
  CHECK(t.backup_bytes() == 2 * one);
  CHECK(t.counters().evicted == 1);
  CHECK(t.counters().evicted_bytes == one);
}

TEST_CASE("a backup larger than the byte cap is refused without evicting "
          "others") {
  auto one = assigns(1).byte_size();
  registry_config cfg;
  cfg.max_backup_bytes = 3 * one;
  backup_table t{cfg};
  time_point t0{};
  t.put_backup(alice, assigns(1), t0);
  t.put_backup(bob, assigns(2), t0);
  auto big = snapshot::from_object({{"x", std::string(4 * one, 'x')}});
  REQUIRE(big.byte_size() > cfg.max_backup_bytes);
  t.put_backup(carol, big, t0);
  CHECK_FALSE(t.peek_backup(carol));
  CHECK(t.peek_backup(alice));
  CHECK(t.peek_backup(bob));
  CHECK(t.backup_bytes() == 2 * one);
  CHECK(t.counters().evicted == 1);
  CHECK(t.counters().evicted_bytes == big.byte_size());
}

TEST_CASE("replacing a backup keeps the byte count exact") {
  backup_table t{registry_config{}};
  time_point t0{};
  t.put_backup(alice, assigns(1), t0);
  auto big = snapshot::from_object({{"x", std::string(1000, 'x')}});
  t.put_backup(alice, big, t0);
  CHECK(t.backup_count() == 1);
  CHECK(t.backup_bytes() == big.byte_size());
  CHECK(t.counters().imported == 2);
}

TEST_CASE("the exit matrix decides whether a detached channel leaves a "
          "backup") {
  table_case c{registry_config{}};
  c.live_and_die(alice, 1, caf::make_error(channel_exit::crashed));
  c.live_and_die(bob, 2, caf::none);
  c.live_and_die(carol, 3, caf::make_error(channel_exit::transport_lost));
  REQUIRE(c.table.peek_backup(alice));
  CHECK(c.table.peek_backup(alice)->find("x")->as_int64() == 1);
  CHECK_FALSE(c.table.peek_backup(bob));
  REQUIRE(c.table.peek_backup(carol));
  auto& k = c.table.counters();
  CHECK(k.kept_after_crash == 1);
  CHECK(k.discarded_normal == 1);
  CHECK(k.kept_after_other == 1);
  CHECK(c.table.live_count() == 0);
}

TEST_CASE("a stale channel's down does not touch the key's new channel") {
  table_case c{registry_config{}};
  auto old_ch = c.channel();
  c.table.attach(alice, old_ch, c.now);
  // A takeover after down_wait: the old channel is detached as taken over.
  c.table.detach(old_ch, caf::make_error(channel_exit::taken_over), c.now);
  auto new_ch = c.channel();
  auto out = c.table.attach(alice, new_ch, c.now);
  CHECK(out.restored);
  CHECK(out.source == "takeover");
  // The old channel's real down arrives late: nothing to do.
  CHECK_FALSE(c.table.detach(old_ch, caf::none, c.now));
  REQUIRE(c.table.live_channel(alice));
  CHECK(*c.table.live_channel(alice) == new_ch);
  CHECK_FALSE(c.table.detach(c.channel(), caf::none, c.now));
}

TEST_CASE("crashes after progress never trip the guard, however many") {
  table_case c{registry_config{}};
  auto crash = caf::make_error(channel_exit::crashed, "boom");
  for (int i = 1; i <= 20; ++i) {
    auto out = c.live_and_die(alice, i, crash);
    CHECK(out.restored == (i > 1));
    CHECK(out.fallback_generation == 0);
  }
  auto out = c.table.attach(alice, c.channel(), c.now);
  CHECK(c.restored_x(out) == 20);
  CHECK(c.table.counters().crashes_without_progress == 0);
  CHECK(c.table.counters().poison_fallbacks == 0);
}

TEST_CASE("crashes without progress fall back after poison_crashes") {
  registry_config cfg;
  cfg.poison_crashes = 2;
  table_case c{cfg};
  auto crash = caf::make_error(channel_exit::crashed, "boom");
  c.live_and_die(alice, 1, crash);
  c.live_and_die(alice, 2, crash); // generations: x=2, x=1
  CHECK(c.restored_x(c.crash_at_join(alice)) == 2); // 1 without progress
  CHECK(c.table.counters().crashes_without_progress == 1);
  CHECK(c.restored_x(c.crash_at_join(alice)) == 2); // 2: falls back
  CHECK(c.table.counters().poison_fallbacks == 1);
  auto out = c.crash_at_join(alice);
  CHECK(out.fallback_generation == 1);
  CHECK(c.restored_x(out) == 1);
  out = c.crash_at_join(alice); // the older one's second: nothing left
  CHECK(out.fallback_generation == 0);
  CHECK(c.table.counters().poison_quarantined == 1);
  CHECK_FALSE(c.table.peek_backup(alice));
  out = c.table.attach(alice, c.channel(), c.now);
  CHECK_FALSE(out.restored);
  CHECK(out.cell->load().empty());
  CHECK(out.reason.find("quarantined") == 0);
  CHECK(c.table.counters().restores_refused_poison == 1);
}

TEST_CASE("a fallback also skips what join committed on the unproven "
          "state") {
  registry_config cfg;
  cfg.poison_crashes = 2;
  cfg.generations = 4;
  table_case c{cfg};
  auto crash = caf::make_error(channel_exit::crashed, "boom");
  c.live_and_die(alice, 1, crash);
  c.live_and_die(alice, 2, crash); // generations: x=2, x=1, {}
  // Each restore's join commits on top of x=2, then the channel crashes
  // before any event completed.
  for (int join_commit : {20, 21}) {
    auto ch = c.channel();
    auto out = c.table.attach(alice, ch, c.now);
    out.cell->store(assigns(join_commit));
    c.table.detach(ch, crash, c.now);
  }
  // Skipped: x=21 and x=20 (committed without progress) and x=2.
  auto out = c.table.attach(alice, c.channel(), c.now);
  CHECK(out.fallback_generation == 3);
  CHECK(c.restored_x(out) == 1);
}

TEST_CASE("lost transports, kills and lost nodes never count") {
  registry_config cfg;
  cfg.poison_crashes = 1;
  table_case c{cfg};
  c.live_and_die(alice, 1, caf::make_error(channel_exit::crashed));
  for (const caf::error& e :
       {caf::make_error(channel_exit::transport_lost),
        caf::make_error(caf::exit_reason::kill),
        caf::make_error(caf::exit_reason::remote_link_unreachable)}) {
    auto ch = c.channel();
    c.table.attach(alice, ch, c.now);
    c.table.detach(ch, e, c.now);
  }
  CHECK(c.table.counters().crashes_without_progress == 0);
  CHECK(c.restored_x(c.table.attach(alice, c.channel(), c.now)) == 1);
}

TEST_CASE("a channel whose progress the registry cannot see is never "
          "blamed") {
  registry_config cfg;
  cfg.poison_crashes = 1;
  table_case c{cfg};
  c.live_and_die(alice, 1, caf::make_error(channel_exit::crashed));
  c.live_and_die(alice, 2, caf::make_error(channel_exit::crashed));
  for (int i = 0; i < 5; ++i)
    CHECK(c.restored_x(c.crash_at_join(alice, false)) == 2);
  CHECK(c.table.counters().crashes_without_progress == 0);
  CHECK(c.table.counters().poison_fallbacks == 0);
}

TEST_CASE("stats report every counter, the sizes and the limits") {
  registry_config cfg;
  cfg.max_backups = 7;
  backup_table t{cfg};
  t.put_backup(alice, assigns(1), time_point{});
  auto s = t.stats();
  CHECK(s.at("backups") == 1);
  CHECK(s.at("backup_bytes") == assigns(1).byte_size());
  CHECK(s.at("imported") == 1);
  CHECK(s.at("live_channels") == 0);
  CHECK(s.at("limits").at("max_backups") == 7);
  for (const char* k : {"from_backup", "from_takeover", "fresh", "fallback",
                        "refused_poison"})
    CHECK(s.at("restores").as_object().contains(k));
  for (const char* k : {"expired", "evicted", "evicted_bytes", "quarantined"})
    CHECK(s.at("drops").as_object().contains(k));
  for (const char* k : {"count", "crashes_without_progress", "fallbacks",
                        "quarantined", "recent"})
    CHECK(s.at("quarantine").as_object().contains(k));
  CHECK(s.at("limits").at("poison_crashes") == cfg.poison_crashes);
}

TEST_CASE("try_attach leaves a live key alone and names its channel") {
  table_case c{registry_config{}};
  c.live_and_die(alice, 1, caf::make_error(channel_exit::crashed));
  // Step 1: the key is free: the channel is attached and restored.
  auto first = c.channel();
  auto got = c.table.try_attach(alice, first, c.now);
  CHECK_FALSE(got.live);
  REQUIRE(got.outcome.cell);
  CHECK(got.outcome.restored);
  CHECK(c.restored_x(got.outcome) == 1);
  // Step 2: a second join while the first is live changes nothing.
  auto second = c.channel();
  auto busy = c.table.try_attach(alice, second, c.now);
  REQUIRE(busy.live);
  CHECK(*busy.live == first);
  CHECK_FALSE(busy.outcome.cell);
  CHECK(*c.table.live_channel(alice) == first);
  CHECK(c.table.live_count() == 1);
  CHECK_FALSE(c.table.detach(second, caf::none, c.now));
  // Step 3: once the first is down, the second gets its last commit.
  got.outcome.cell->store(assigns(2));
  c.table.detach(first, caf::make_error(channel_exit::crashed), c.now);
  auto again = c.table.try_attach(alice, second, c.now);
  CHECK_FALSE(again.live);
  CHECK(again.outcome.restored);
  CHECK(c.restored_x(again.outcome) == 2);
  CHECK(c.table.counters().restores_from_backup == 2);
}

TEST_CASE("replacing a packed backup keeps the counts and the age list "
          "exact") {
  registry_config cfg;
  cfg.pack_after = 1s;
  backup_table t{cfg};
  time_point t0{};
  boost::json::array list;
  for (int i = 0; i < 100; ++i)
    list.push_back(i);
  t.put_backup(alice, snapshot::from_object({{"ns", list}}), t0);
  t.put_backup(bob, assigns(1), t0);
  REQUIRE(t.pack_cold(t0 + 2s, 10) == 2);
  REQUIRE(t.packed_count() == 2);
  // Replaced in place: alice's packed form is gone, and alice is now the
  // newest backup, so bob expires first.
  auto before = t.backup_bytes();
  t.put_backup(alice, assigns(2), t0 + 2s);
  CHECK(t.packed_count() == 1);
  CHECK(t.backup_count() == 2);
  CHECK(t.expire(t0 + 2s) == 0);
  CHECK(t.backup_bytes() < before);
  CHECK(t.expire(t0 + cfg.backup_ttl) == 1);
  CHECK_FALSE(t.peek_backup(bob));
  CHECK(t.packed_count() == 0);
  CHECK(t.backup_bytes() == assigns(2).byte_size());
  REQUIRE(t.peek_backup(alice));
  CHECK(t.peek_backup(alice)->find("x")->as_int64() == 2);
  CHECK(t.expire(t0 + 2s + cfg.backup_ttl) == 1);
  CHECK(t.backup_count() == 0);
  CHECK(t.backup_bytes() == 0);
}
