// Acknowledged means durable: frames after a commit wait for the journal
// (or a remote registry's acknowledgement); nothing else waits.
#include <algorithm>
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <vector>

#include <caf/all.hpp>
#include <unistd.h>

#include "temp_dir.hpp"

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/registry/backup_table.hpp>
#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/registry/journal_store.hpp>

using namespace chanstate;
using chanstate::testing::channel_case;
using chanstate::testing::channel_handle;
using chanstate::testing::case_options;

namespace {

using chanstate::test::temp_dir;

/// A journal that holds every wait until the test says the batch is
/// written (write_batch), so the test controls when durability arrives.
struct fake_journal : journal_waiter {
  std::vector<std::uint64_t> asked;
  std::vector<backup_key> keys_asked;
  std::vector<std::pair<caf::actor, std::uint64_t>> waiting;
  // As when the waiting channel writes the batch itself: on disk at once.
  bool writes_at_once = false;

  // Keys whose last change is not on disk yet (settled() says no).
  std::vector<backup_key> unsettled;

  bool settled(const backup_key& key) override {
    return std::find(unsettled.begin(), unsettled.end(), key)
           == unsettled.end();
  }

  bool await(const backup_key& key, const caf::actor& notify,
             std::uint64_t seq) override {
    asked.push_back(seq);
    keys_asked.push_back(key);
    if (writes_at_once)
      return true;
    waiting.emplace_back(notify, seq);
    return false;
  }

  void written() {
    unsettled.clear();
    for (auto& [who, seq] : waiting)
      caf::anon_send(who, journal_durable_atom::value, seq);
    waiting.clear();
  }
};

/// The demo channel on a node with a (stand-in) journal.
struct journaled {
  channel_case t;
  std::shared_ptr<fake_journal> log = std::make_shared<fake_journal>();

  explicit journaled(ack_mode mode = ack_mode::durable) {
    t.route("room:*", demo_channel_factory());
    t.env().journal = log;
    t.env().ack = mode;
    t.run();
  }

  /// The journal writes its batch: every waiting channel is told.
  void write_batch() {
    log->written();
    t.run();
  }

  /// Commits `n` (add) and sends a get, whose reply the journal holds until
  /// the next write_batch(); the get's ref.
  std::string add_then_get(const channel_handle& ch, int n) {
    t.push(ch, "add", {{"n", n}});
    auto ref = t.send_call(ch, "get");
    t.run();
    return ref;
  }

  std::vector<frame_kind> kinds(const channel_handle& ch) const {
    std::vector<frame_kind> out;
    for (const auto& f : t.frames(ch))
      out.push_back(f.kind);
    return out;
  }
};

boost::json::array ns_of(const std::optional<reply>& r) {
  REQUIRE(r);
  return r->response.at("ns").as_array();
}

/// The key the on-disk cases below commit to.
const backup_key key9{"room:9", "c"};

/// The real journal writer on a fresh LMDB map of `map_bytes`, observing a
/// backup table with one live key ("room:9", "c") whose commit cell is
/// `out.cell`; `self` talks to the writer.
struct on_disk {
  temp_dir dir{"chanstate-durable-test"};
  caf::actor_system_config cfg;
  caf::actor_system sys{one_worker(cfg)};
  journal_handle j;
  backup_table table{registry_config{}};
  caf::actor alive;
  restore_outcome out;
  caf::scoped_actor self{sys};

  explicit on_disk(std::size_t map_bytes,
                   std::chrono::milliseconds retry = std::chrono::milliseconds{50},
                   std::chrono::milliseconds linger = std::chrono::milliseconds{2}) {
    auto store = journal_store::open(dir.path.string(), map_bytes);
    REQUIRE(store);
    j = spawn_journal(sys, std::move(*store), {}, retry, linger);
    table.set_observer(j.observer);
    alive = sys.spawn([] { return caf::behavior{[](int) {}}; });
    out = attach(key9);
  }

  /// Another live key on the same table and journal.
  restore_outcome attach(const backup_key& key) {
    return table.attach(key, alive.address(), time_point{});
  }

  ~on_disk() {
    self->send_exit(j.writer, caf::exit_reason::user_shutdown);
    self->send_exit(alive, caf::exit_reason::user_shutdown);
  }

  static caf::actor_system_config& one_worker(caf::actor_system_config& c) {
    c.set("scheduler.max-threads", 1);
    return c;
  }
};

} // namespace

TEST_CASE("a reply after a commit is held until the journal batch holding "
          "the commit is written, and released by it") {
  journaled j;
  // join: nothing committed, so the join reply goes out at once.
  auto ch = j.t.join("room:1", "alice");
  REQUIRE(j.t.joined(ch));
  // add commits; get replies: the reply waits for the commit.
  auto ref = j.add_then_get(ch, 7);
  CHECK_FALSE(j.t.reply_to(ch, ref));
  REQUIRE(j.log->asked.size() == 1);
  CHECK(j.log->asked[0] == 1);
  // For its own key only: the journal writes that key's change.
  CHECK(j.log->keys_asked[0] == backup_key{"room:1", "alice"});
  // The channel did not wait: it handles the next event meanwhile.
  j.t.push(ch, "add", {{"n", 8}});
  CHECK(j.t.live("room:1", "alice")->size() > 0);
  // The batch is written: the reply leaves, with the value it acknowledges.
  j.write_batch();
  CHECK(ns_of(j.t.reply_to(ch, ref)) == boost::json::array{7});
}

TEST_CASE("a run of commits without a frame asks the journal nothing; the "
          "next frame asks once for all of them") {
  journaled j;
  auto ch = j.t.join("room:1", "alice");
  for (int i = 1; i <= 5; ++i)
    j.t.push(ch, "add", {{"n", i}});
  CHECK(j.log->asked.empty());
  auto ref = j.t.send_call(ch, "get");
  j.t.run();
  CHECK(j.log->asked == std::vector<std::uint64_t>{5});
  j.write_batch();
  CHECK(ns_of(j.t.reply_to(ch, ref)) == boost::json::array{1, 2, 3, 4, 5});
}

TEST_CASE("a frame with no commit before it is not delayed") {
  journaled j;
  auto ch = j.t.join("room:1", "alice");
  // Nothing committed yet.
  CHECK(j.t.call(ch, "get"));
  CHECK(j.t.call(ch, "ping"));
  // Once a commit is durable, frames after it flow freely again.
  auto held = j.add_then_get(ch, 1);
  CHECK_FALSE(j.t.reply_to(ch, held));
  j.write_batch();
  CHECK(j.t.reply_to(ch, held));
  auto asked = j.log->asked.size();
  CHECK(j.t.call(ch, "get"));
  CHECK(j.log->asked.size() == asked);
}

TEST_CASE("held frames keep their order, also frames that commit nothing") {
  journaled j;
  auto ch = j.t.join("room:1", "alice");
  j.t.push(ch, "add", {{"n", 1}});
  auto get = j.t.send_call(ch, "get");
  auto ping = j.t.send_call(ch, "ping"); // push pong + reply, no commit
  j.t.run();
  CHECK(j.kinds(ch) == std::vector<frame_kind>{frame_kind::join_ok});
  j.write_batch();
  CHECK(j.kinds(ch)
        == std::vector<frame_kind>{frame_kind::join_ok, frame_kind::reply,
                                   frame_kind::push, frame_kind::reply});
  CHECK(j.t.frames(ch)[1].ref == get);
  CHECK(j.t.frames(ch)[3].ref == ping);
}

TEST_CASE("a commit written within the wait lets its frame out at once, "
          "behind any frame still held") {
  journaled j;
  auto ch = j.t.join("room:1", "alice");
  // Held: the journal answers later.
  j.t.push(ch, "add", {{"n", 1}});
  auto a = j.t.send_call(ch, "get");
  j.t.run();
  CHECK_FALSE(j.t.reply_to(ch, a));
  // Written within the wait: the new reply still goes after the held one.
  j.log->writes_at_once = true;
  j.t.push(ch, "add", {{"n", 2}});
  auto b = j.t.send_call(ch, "get");
  j.t.run();
  // Nothing held any more: the next reply leaves in the activation that
  // sent it, with no message from the journal.
  j.t.push(ch, "add", {{"n", 3}});
  auto c = j.t.send_call(ch, "get");
  j.t.run();
  CHECK(j.log->waiting.size() == 1); // only a's wait was noted
  REQUIRE(j.kinds(ch)
          == std::vector<frame_kind>{frame_kind::join_ok, frame_kind::reply,
                                     frame_kind::reply, frame_kind::reply});
  CHECK(j.t.frames(ch)[1].ref == a);
  CHECK(j.t.frames(ch)[2].ref == b);
  CHECK(j.t.frames(ch)[3].ref == c);
  CHECK(ns_of(j.t.reply_to(ch, c)) == boost::json::array{1, 2, 3});
  CHECK(j.log->asked == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("--ack=async does not hold frames") {
  journaled j{ack_mode::async};
  auto ch = j.t.join("room:1", "alice");
  j.t.push(ch, "add", {{"n", 1}});
  CHECK(ns_of(j.t.call(ch, "get")) == boost::json::array{1});
  CHECK(j.log->asked.empty());
}

TEST_CASE("without a journal the commit cell is the durable point: nothing "
          "waits") {
  channel_case t;
  t.route("room:*", demo_channel_factory());
  auto ch = t.join("room:1", "alice");
  t.push(ch, "add", {{"n", 1}});
  CHECK(ns_of(t.call(ch, "get")) == boost::json::array{1});
}

TEST_CASE("a leave is answered once the journal holds the drop; held "
          "frames go first, in order") {
  journaled j;
  auto ch = j.t.join("room:1", "alice");
  auto get = j.add_then_get(ch, 1);
  j.t.leave(ch);
  // Told nothing yet: a process crash now would bring the state back from
  // the journal, so neither the get's reply nor the leave's may leave.
  CHECK(j.kinds(ch) == std::vector<frame_kind>{frame_kind::join_ok});
  CHECK(j.log->keys_asked.back() == backup_key{"room:1", "alice"});
  j.write_batch();
  CHECK_FALSE(j.t.alive(ch));
  REQUIRE(j.kinds(ch)
          == std::vector<frame_kind>{frame_kind::join_ok, frame_kind::reply,
                                     frame_kind::reply});
  CHECK(j.t.frames(ch)[1].ref == get);
  CHECK_FALSE(j.t.backup("room:1", "alice"));
}

TEST_CASE("a rejoin while a leave waits for the journal starts fresh") {
  journaled j;
  auto ch = j.t.join("room:1", "alice");
  j.add_then_get(ch, 1);
  j.write_batch();
  j.t.push(ch, "add", {{"n", 2}});
  j.t.leave(ch);
  REQUIRE(j.t.alive(ch)); // waiting for the drop to be written
  // The registry takes the key over; the leaving channel still ends clean.
  auto again = j.t.join("room:1", "alice");
  CHECK_FALSE(j.t.alive(ch));
  CHECK(j.t.exit_reason(ch) == std::optional<caf::error>{caf::error{}});
  j.write_batch();
  REQUIRE(j.t.joined(again));
  CHECK(j.t.join_reply(again)->response["ns"] == boost::json::array{});
}

TEST_CASE("a crash drops held frames (never acknowledged); the state is "
          "kept") {
  journaled j;
  auto ch = j.t.join("room:1", "alice");
  auto get = j.add_then_get(ch, 1);
  j.t.crash(ch);
  CHECK_FALSE(j.t.alive(ch));
  CHECK_FALSE(j.t.reply_to(ch, get));
  j.write_batch(); // a late answer reaches nobody
  auto again = j.t.rejoin(ch);
  j.write_batch(); // the restored state's join reply waits too
  REQUIRE(j.t.joined(again));
  CHECK(j.t.join_reply(again)->response["ns"] == boost::json::array{1});
}

TEST_CASE("with a registry on another node, a reply waits for the registry's "
          "acknowledgement of the delta") {
  case_options o;
  o.autorun = false;
  channel_case t{o};
  t.route("room:*", demo_channel_factory());
  // Commits travel as deltas, as they do to another node's registry.
  t.env().remote_registry = true;
  auto ch = t.join("room:1", "alice");
  t.run();
  REQUIRE(t.joined(ch));
  t.push(ch, "add", {{"n", 1}});
  auto get = t.send_call(ch, "get");
  // The channel handles add (delta sent) and get (reply held) ...
  CHECK(t.run_one(ch));
  CHECK(t.run_one(ch));
  CHECK_FALSE(t.reply_to(ch, get));
  // ... the registry stores the delta and acknowledges it ...
  CHECK(t.run_one(t.env().registry));
  CHECK_FALSE(t.reply_to(ch, get));
  // ... and the acknowledgement releases the reply.
  t.run();
  CHECK(ns_of(t.reply_to(ch, get)) == boost::json::array{1});
  CHECK(t.live("room:1", "alice"));
}

namespace {

/// The journal writer's counters (its `journal` stats).
boost::json::object writer_counters(caf::scoped_actor& self,
                                    const caf::actor& writer) {
  boost::json::object out;
  self->request(writer, caf::infinite, journal_atom::value)
    .receive([&](std::string& json) { out = boost::json::parse(json).as_object(); },
             [](caf::error& err) { FAIL(describe(err)); });
  return out;
}

/// How much the counter `name` grew from `before` to `after`.
int grew(const boost::json::object& before, const boost::json::object& after,
         const char* name) {
  return after.at(name).to_number<int>() - before.at(name).to_number<int>();
}

/// Returns once the writer handled everything sent to it before.
void barrier(caf::scoped_actor& self, const caf::actor& writer) {
  self->request(writer, caf::infinite, caf::flush_atom::value)
    .receive([] {}, [](caf::error& err) { FAIL(describe(err)); });
}

/// What the writer's LMDB file holds (reopened, it would be restored).
std::vector<std::pair<backup_key, snapshot>>
on_disk_records(caf::scoped_actor& self, const caf::actor& writer) {
  std::vector<std::pair<backup_key, snapshot>> out;
  self->request(writer, caf::infinite, caf::get_atom::value)
    .receive([&](std::vector<std::pair<backup_key, snapshot>>& xs) {
               out = std::move(xs);
             },
             [](caf::error& err) { FAIL(describe(err)); });
  return out;
}

/// True if a journal_durable message waits in `self`'s mailbox (taken).
bool durable_message_waiting(caf::scoped_actor& self) {
  bool told = false;
  self->receive([&](journal_durable_atom, std::uint64_t) { told = true; },
                caf::after(std::chrono::seconds{0}) >> [] {});
  return told;
}

} // namespace

TEST_CASE("the journal writer answers a sync (or a waiter) once the change "
          "made before it is on disk") {
  on_disk f{std::size_t{64} << 20};
  auto& j = f.j;
  auto& self = f.self;
  // Commits go into the writer's inbox synchronously; the syncs follow.
  f.out.cell->store(snapshot{}.with("ns", boost::json::array{1}));
  for (std::uint64_t seq = 1; seq <= 3; ++seq)
    self->request(j.writer, caf::infinite, journal_sync_atom::value, seq)
      .receive([seq](std::uint64_t done) { CHECK(done == seq); },
               [](caf::error& err) { FAIL(describe(err)); });
  // What the answered syncs waited for is on disk (reopened elsewhere it
  // would be restored).
  auto xs = on_disk_records(self, j.writer);
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].second.to_object() == boost::json::object{{"ns", {1}}});
  // The channels' way: a note in the inbox, answered by the next batch.
  f.out.cell->store(snapshot{}.with("ns", boost::json::array{1, 2}));
  bool now = j.waiter->await(key9, caf::actor{self}, 7);
  barrier(self, j.writer);
  if (!now) // the writer had not written it yet: it tells us after
    self->receive([](journal_durable_atom, std::uint64_t seq) {
                    CHECK(seq == 7);
                  },
                  caf::after(std::chrono::seconds{0}) >> [] {
                    FAIL("no journal_durable_atom after the batch");
                  });
  // Nothing new since: durable at once, no note, no message.
  CHECK(j.waiter->await(key9, caf::actor{self}, 8));
  auto st = writer_counters(self, j.writer);
  CHECK(st["sync_requests"] == 3);
  CHECK(st["syncs_waiting"] == 0);
  CHECK(st["write_errors"] == 0);
}

TEST_CASE("a join restored from memory waits until the journal holds what "
          "its reply shows") {
  journaled j;
  auto ch = j.t.join("room:1", "alice");
  j.t.push(ch, "add", {{"n", 1}});
  j.t.crash(ch); // the commit is in the cell, maybe not yet on disk
  auto again = j.t.rejoin(ch);
  CHECK_FALSE(j.t.join_reply(again));
  j.write_batch();
  REQUIRE(j.t.joined(again));
  CHECK(j.t.join_reply(again)->response["ns"] == boost::json::array{1});
}

TEST_CASE("a fresh join after a clean leave waits until the journal holds "
          "the drop: a process crash cannot bring the left state back") {
  journaled j;
  auto ch = j.t.join("room:1", "alice");
  auto ref = j.add_then_get(ch, 1);
  j.write_batch();
  REQUIRE(j.t.reply_to(ch, ref));
  j.t.leave(ch);
  j.write_batch(); // the leave's reply, once the drop is written
  // Say a drop of the key is unwritten again (as after a clean close,
  // which has no reply to wait with).
  j.log->unsettled.push_back(backup_key{"room:1", "alice"});
  auto again = j.t.join("room:1", "alice");
  // The reply shows a fresh start, which the journal does not hold yet.
  CHECK_FALSE(j.t.join_reply(again));
  REQUIRE_FALSE(j.log->keys_asked.empty());
  CHECK(j.log->keys_asked.back() == backup_key{"room:1", "alice"});
  j.write_batch();
  REQUIRE(j.t.joined(again));
  CHECK(j.t.join_reply(again)->response["ns"] == boost::json::array{});
}

TEST_CASE("a failed journal write answers no sync: the changes stay staged "
          "and the failure is counted") {
  // A map far too small for the value below: every write fails (map full).
  on_disk f{std::size_t{64} << 10};
  auto& j = f.j;
  auto& self = f.self;
  f.out.cell->store(
    snapshot{}.with("big", boost::json::string(std::size_t{1} << 20, 'x')));
  // Sent, not requested: an answer would wait in the mailbox as a message.
  self->send(j.writer, journal_sync_atom::value, std::uint64_t{1});
  // A barrier behind the sync: the write has been tried once it replies.
  barrier(self, j.writer);
  auto st = writer_counters(self, j.writer);
  CHECK(st["write_errors"].to_number<int>() >= 1);
  CHECK(st["syncs_waiting"] == 1);
  CHECK(st["failing"] == true);
  CHECK(st["keys_on_disk"] == 0);
  bool answered = false;
  self->receive([&](std::uint64_t) { answered = true; },
                caf::after(std::chrono::seconds{0}) >> [] {});
  CHECK_FALSE(answered);
}

TEST_CASE("a channel that waits while no batch is being written writes the "
          "batch itself: durable when await returns, no message") {
  // A linger far beyond the test: the writer writes nothing on its own once
  // channels wait, so every batch below is the waiting caller's.
  on_disk f{std::size_t{64} << 20, std::chrono::milliseconds{50},
            std::chrono::hours{1}};
  auto& j = f.j;
  auto& self = f.self;
  auto& out = f.out;
  // The first wait (nothing pending) switches the journal to waiters
  // writing; the barrier leaves the writer idle.
  CHECK(j.waiter->await(key9, caf::actor{self}, 0));
  barrier(self, j.writer);
  auto before = writer_counters(self, j.writer);
  out.cell->store(snapshot{}.with("ns", boost::json::array{1, 2}));
  CHECK(j.waiter->await(key9, caf::actor{self}, 1));
  // Written by this call: one batch by a waiter, the record on disk before
  // any flush, and no wait noted.
  auto after = writer_counters(self, j.writer);
  CHECK(grew(before, after, "batches_by_waiters") == 1);
  CHECK(grew(before, after, "records_written") == 1);
  CHECK(after["waits_noted"] == 0);
  CHECK_FALSE(durable_message_waiting(self));
  auto xs = on_disk_records(self, j.writer);
  REQUIRE(xs.size() == 1);
  CHECK(xs[0].second.to_object() == boost::json::object{{"ns", {1, 2}}});
}

TEST_CASE("a commit is durable when await returns: the journal's files at "
          "that moment, opened as a dead process left them, hold it") {
  // No linger or retry within the test: nothing but the waiting channel
  // writes, so only its own record can make the commit durable.
  on_disk f{std::size_t{64} << 20, std::chrono::hours{1},
            std::chrono::hours{1}};
  auto& j = f.j;
  auto& self = f.self;
  CHECK(j.waiter->await(key9, caf::actor{self}, 0));
  barrier(self, j.writer);
  auto ns = boost::json::array{1, -2, 3};
  // A value of every kind, as the log encodes each one.
  auto extra = boost::json::value{
    {"s", "text"}, {"d", 0.5}, {"u", std::uint64_t{1} << 63}, {"b", true},
    {"z", nullptr}, {"xs", {1, "two", boost::json::array{}}}};
  f.out.cell->store(snapshot{}.with("ns", ns).with("extra", extra));
  REQUIRE(j.waiter->await(key9, caf::actor{self}, 1));
  // The process "dies" here: copy its files as they are now.
  temp_dir copy{"chanstate-durable-copy"};
  std::filesystem::copy(f.dir.path, copy.path);
  auto store = journal_store::open(copy.path.string(), std::size_t{64} << 20);
  REQUIRE(store);
  auto all = (*store)->load();
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK(all->front().first == key9);
  CHECK(all->front().second.to_object()
        == boost::json::object{{"ns", ns}, {"extra", extra}});
}

TEST_CASE("a waiting channel writes only its own key: another channel's "
          "pending change stays for the writer") {
  on_disk f{std::size_t{64} << 20, std::chrono::milliseconds{50},
            std::chrono::hours{1}};
  auto& j = f.j;
  auto& self = f.self;
  auto& mine = f.out;
  const backup_key other{"room:9", "d"};
  auto theirs = f.attach(other);
  CHECK(j.waiter->await(key9, caf::actor{self}, 0));
  barrier(self, j.writer);
  auto before = writer_counters(self, j.writer);
  // The other channel is halfway through a burst of events: its change
  // waits in the inbox while this channel's frame waits for its own.
  theirs.cell->store(snapshot{}.with("ns", boost::json::array{9}));
  mine.cell->store(snapshot{}.with("ns", boost::json::array{1}));
  CHECK(j.waiter->await(key9, caf::actor{self}, 1));
  auto after = writer_counters(self, j.writer);
  CHECK(grew(before, after, "batches_by_waiters") == 1);
  CHECK(grew(before, after, "records_written") == 1);
  CHECK(after["keys_on_disk"] == 1);
  // The writer writes the other key's change (here: the barrier; in a
  // node: after its linger).
  barrier(self, j.writer);
  auto flushed = writer_counters(self, j.writer);
  CHECK(flushed["keys_on_disk"] == 2);
  CHECK(grew(before, flushed, "records_written") == 2);
  // Both settled: waiting again writes nothing and notes nothing.
  CHECK(j.waiter->await(other, caf::actor{self}, 3));
  CHECK(j.waiter->await(key9, caf::actor{self}, 4));
  auto last = writer_counters(self, j.writer);
  CHECK(last["batches"] == flushed["batches"]);
  CHECK(last["waits_noted"] == 0);
}

TEST_CASE("while LMDB writes fail a waiting channel logs nothing more: its "
          "wait is noted and answered by the transaction that finally holds "
          "its commit") {
  // A map far too small for the first value below: its transaction fails.
  // No timed retry or linger within the test: only the barrier writes.
  on_disk f{std::size_t{64} << 10, std::chrono::hours{1},
            std::chrono::hours{1}};
  auto& j = f.j;
  auto& self = f.self;
  auto& out = f.out;
  CHECK(j.waiter->await(key9, caf::actor{self}, 0));
  out.cell->store(
    snapshot{}.with("big", boost::json::string(std::size_t{1} << 20, 'x')));
  // The change log takes any size: durable at once, no LMDB involved.
  CHECK(j.waiter->await(key9, caf::actor{self}, 1));
  CHECK(j.stats->to_json().at("log_batches") == 1); // as /stats shows it
  // The writer's transaction cannot hold it: counted, and from now on
  // channels leave the writing to the writer.
  barrier(self, j.writer);
  auto st = writer_counters(self, j.writer);
  CHECK(st["log_batches"] == 1);
  CHECK(st["write_errors"].to_number<int>() >= 1);
  CHECK(st["failing"] == true);
  auto errors = st["write_errors"].to_number<int>();
  out.cell->store(
    snapshot{}.with("big", boost::json::string(std::size_t{1} << 20, 'y')));
  CHECK_FALSE(j.waiter->await(key9, caf::actor{self}, 2));
  st = writer_counters(self, j.writer);
  CHECK(st["write_errors"].to_number<int>() == errors);
  CHECK(st["waits_noted"] == 1);
  CHECK(st["syncs_waiting"] == 1);
  CHECK(st["log_batches"] == 1);
  CHECK_FALSE(durable_message_waiting(self));
  // The key's newest commit fits, and it replaces the logged value that did
  // not: the next transaction holds it and answers the wait.
  out.cell->store(snapshot{}.with("big", boost::json::string("z")));
  barrier(self, j.writer);
  std::vector<std::uint64_t> seqs;
  self->receive([&](journal_durable_atom, std::uint64_t seq) {
                  seqs.push_back(seq);
                },
                caf::after(std::chrono::seconds{0}) >> [] {});
  CHECK(seqs == std::vector<std::uint64_t>{2});
  st = writer_counters(self, j.writer);
  CHECK(st["failing"] == false);
  CHECK(st["syncs_waiting"] == 0);
  CHECK(st["checkpoints"] == 1);
}
