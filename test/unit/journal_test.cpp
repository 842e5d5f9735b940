// The journal keeps the last saved assigns of every key across a process death.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <lmdb.h>
#include <unistd.h>

#include "temp_dir.hpp"

#include <chanstate/registry/backup_table.hpp>
#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/registry/journal_store.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace fs = std::filesystem;
using namespace chanstate;

namespace {

using chanstate::test::temp_dir;

std::unique_ptr<journal_store> open_store(const temp_dir& d) {
  auto js = journal_store::open(d.path.string(), std::size_t{64} << 20);
  REQUIRE(js);
  return std::move(*js);
}

journal_store::key_change put(backup_key key, boost::json::object obj) {
  journal_store::key_change c;
  c.key = std::move(key);
  for (auto& kv : obj)
    c.assigns.push_back({std::string{kv.key()},
                         std::make_shared<const boost::json::value>(
                           kv.value())});
  return c;
}

boost::json::object as_object(const snapshot& s) {
  return s.to_object();
}

} // namespace

TEST_CASE("the journal gives back what was written, per key, after reopening") {
  temp_dir d;
  {
    auto js = open_store(d);
    REQUIRE(!js->apply({put({"room:1", "a"}, {{"ns", {1, 2}}}),
                        put({"room:1", "b"}, {{"ns", {3}}, {"x", "y"}})}));
  }
  auto js = open_store(d);
  auto all = js->load();
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK(all->at(0).first == backup_key{"room:1", "a"});
  CHECK(as_object(all->at(0).second)
        == boost::json::object{{"ns", {1, 2}}});
  CHECK(as_object(all->at(1).second)
        == boost::json::object{{"ns", {3}}, {"x", "y"}});
}

TEST_CASE("keys that share a prefix stay apart in the journal") {
  temp_dir d;
  auto js = open_store(d);
  REQUIRE(!js->apply({put({"ab", "c"}, {{"v", 1}}), put({"a", "bc"}, {{"v", 2}})}));
  journal_store::key_change erase;
  erase.key = {"a", "bc"};
  erase.erase_all = true;
  REQUIRE(!js->apply({erase}));
  auto all = js->load();
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK(all->at(0).first == backup_key{"ab", "c"});
}

TEST_CASE("a journal of a newer format is refused, not reset") {
  temp_dir d;
  open_store(d)->apply({put({"t", "c"}, {{"v", 1}})});
  { // Stamp a future format version into the meta table by hand.
    MDB_env* env = nullptr;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 2);
    REQUIRE(mdb_env_open(env, d.path.c_str(), 0, 0644) == 0);
    MDB_txn* txn = nullptr;
    mdb_txn_begin(env, nullptr, 0, &txn);
    MDB_dbi meta;
    mdb_dbi_open(txn, "meta", 0, &meta);
    std::string k = "format", v = "99";
    MDB_val kv{k.size(), k.data()}, vv{v.size(), v.data()};
    mdb_put(txn, meta, &kv, &vv, 0);
    mdb_txn_commit(txn);
    mdb_env_close(env);
  }
  auto js = journal_store::open(d.path.string());
  REQUIRE(!js);
  CHECK(js.error() == registry_error::journal_too_new);
  CHECK(describe(js.error()).find("newer") != std::string::npos);
  CHECK(fs::file_size(d.path / "data.mdb") > 0); // untouched
}

TEST_CASE("a corrupt journal is refused with a clear error") {
  temp_dir d;
  fs::create_directories(d.path);
  {
    std::ofstream out{d.path / "data.mdb", std::ios::binary};
    std::string junk(8192, 'x');
    out << junk;
  }
  auto js = journal_store::open(d.path.string());
  REQUIRE(!js);
  CHECK(js.error() == registry_error::journal_corrupt);
}

TEST_CASE("the journal follows the table: commits are written, a normal end "
          "erases, clear empties it") {
  temp_dir d;
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  auto j = spawn_journal(sys, open_store(d), {});
  backup_table table{registry_config{}};
  table.set_observer(j.observer);
  caf::scoped_actor self{sys};
  auto barrier = [&] {
    self->request(j.writer, caf::infinite, caf::flush_atom::value)
      .receive([] {},
               [](caf::error& err) { FAIL(describe(err)); });
  };
  auto on_disk = [&] {
    std::vector<std::pair<backup_key, snapshot>> all;
    self->request(j.writer, caf::infinite, caf::get_atom::value)
      .receive([&](std::vector<std::pair<backup_key, snapshot>>& xs) {
        all = std::move(xs);
      }, [](caf::error& err) { FAIL(describe(err)); });
    return all;
  };
  auto now = time_point{};
  auto alive = sys.spawn([] { return caf::behavior{[](int) {}}; });
  auto out = table.attach({"room:9", "c"}, alive.address(), now);
  out.cell->store(snapshot{}.with("ns", boost::json::array{1}));
  out.cell->store(snapshot{}.with("ns", boost::json::array{1, 2}));
  barrier();
  auto disk = on_disk();
  REQUIRE(disk.size() == 1);
  CHECK(as_object(disk[0].second)
        == boost::json::object{{"ns", {1, 2}}});
  table.detach(alive.address(), caf::none, now); // a normal end
  barrier();
  CHECK(on_disk().empty());
  table.put_backup({"room:9", "d"}, snapshot{}.with("k", 1), now);
  barrier();
  CHECK(on_disk().size() == 1);
  self->request(j.writer, caf::infinite, caf::reset_atom::value)
    .receive([] {}, [](caf::error& err) { FAIL(describe(err)); });
  CHECK(on_disk().empty());
  self->send_exit(j.writer, caf::exit_reason::user_shutdown);
  self->send_exit(alive, caf::exit_reason::user_shutdown);
}
