// The change log: what a dead process logged comes back, and only that.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <lmdb.h>
#include <unistd.h>

#include "temp_dir.hpp"

#include <chanstate/registry/journal_log.hpp>
#include <chanstate/registry/journal_store.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace fs = std::filesystem;
using namespace chanstate;

namespace {

using chanstate::test::temp_dir;

// The log is opened inside it: the directory exists.
struct log_dir : temp_dir {
  log_dir() : temp_dir("chanstate-log-test") {
    fs::create_directories(path);
  }
};

journal_store::key_change put(backup_key key, std::string name,
                              boost::json::value v) {
  journal_store::key_change c;
  c.key = std::move(key);
  c.assigns.push_back(
    {std::move(name), std::make_shared<const boost::json::value>(v)});
  return c;
}

std::unique_ptr<journal_log> open_log(const fs::path& p) {
  auto log = journal_log::open(p.string());
  REQUIRE(log);
  return std::move(*log);
}

std::unique_ptr<journal_store>
open_store(const temp_dir& d, std::size_t map_bytes = std::size_t{64} << 20) {
  auto js = journal_store::open(d.path.string(), map_bytes);
  REQUIRE(js);
  return std::move(*js);
}

boost::json::object state_of(journal_store& js, const backup_key& key) {
  auto all = js.load();
  REQUIRE(all);
  for (auto& [k, s] : *all)
    if (k == key)
      return s.to_object();
  return {};
}

} // namespace

TEST_CASE("the log gives back its records after reopening, in order, from a "
          "sequence number on") {
  log_dir d;
  auto file = d.path / "changes.log";
  {
    auto log = open_log(file);
    REQUIRE(!log->append({put({"t", "a"}, "n", 1)}));
    journal_store::key_change erase;
    erase.key = {"t", "b"};
    erase.erase_all = true;
    erase.assigns.push_back({"gone", nullptr});
    REQUIRE(!log->append({erase, put({"t", "a"}, "n", {1, 2})}));
    CHECK(log->last() == 2);
  }
  auto log = open_log(file);
  CHECK(log->last() == 2);
  auto all = log->replay(0);
  REQUIRE(all);
  REQUIRE(all->size() == 3);
  CHECK(all->at(0).key == backup_key{"t", "a"});
  CHECK(*all->at(0).assigns.at(0).value == boost::json::value(1));
  CHECK(all->at(1).erase_all);
  CHECK(all->at(1).assigns.at(0).value == nullptr);
  CHECK(*all->at(2).assigns.at(0).value == boost::json::value({1, 2}));
  auto later = log->replay(1);
  REQUIRE(later);
  CHECK(later->size() == 2);
  // Appends go on after what is there.
  REQUIRE(!log->append({put({"t", "c"}, "n", 3)}));
  CHECK(log->last() == 3);
  CHECK(log->replay(2)->size() == 1);
}

TEST_CASE("values of every kind come back from the log as they went in") {
  log_dir d;
  auto file = d.path / "changes.log";
  auto big = static_cast<std::int64_t>(1) << 62;
  std::vector<boost::json::value> values{
    nullptr, true, false, -7, std::uint64_t{1} << 63, 2.5, "text", "",
    boost::json::array{}, boost::json::array{1, -big, big},
    boost::json::array{1, "two", 3.0, nullptr, boost::json::array{4}},
    boost::json::object{}, boost::json::object{{"a", {1, 2}}, {"b", {{"c", "d"}}}}};
  {
    auto log = open_log(file);
    std::vector<journal_store::key_change> batch;
    for (std::size_t i = 0; i < values.size(); ++i)
      batch.push_back(put({"t", "a"}, "v" + std::to_string(i), values[i]));
    REQUIRE(!log->append(batch));
  }
  auto log = open_log(file);
  auto all = log->replay(0);
  REQUIRE(all);
  REQUIRE(all->size() == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    CAPTURE(values[i]);
    CHECK(*all->at(i).assigns.at(0).value == values[i]);
    CHECK(all->at(i).assigns.at(0).value->kind() == values[i].kind());
  }
}

namespace {

// A log file holding one record of one assign whose value is `bytes` with
// the length word `len` (the high bit says binary), as a build writes it.
void write_one_record(const fs::path& file, std::uint32_t len,
                      const std::string& bytes) {
  auto u32 = [](std::string& out, std::uint32_t n) {
    out.append(reinterpret_cast<const char*>(&n), 4);
  };
  auto text = [&](std::string& out, const std::string& t) {
    u32(out, static_cast<std::uint32_t>(t.size()));
    out += t;
  };
  std::string payload;
  u32(payload, 1);
  payload.push_back(0);
  text(payload, "t");
  text(payload, "a");
  u32(payload, 1);
  text(payload, "ns");
  u32(payload, len);
  payload += bytes;
  std::string file_bytes{"CSJLOG01", 8};
  std::uint64_t first = 1, seq = 1, size = payload.size();
  file_bytes.append(reinterpret_cast<const char*>(&first), 8);
  file_bytes.resize(64, '\0');
  file_bytes.append(reinterpret_cast<const char*>(&seq), 8);
  file_bytes.append(reinterpret_cast<const char*>(&size), 8);
  file_bytes += payload;
  file_bytes.resize((file_bytes.size() + 7) / 8 * 8, '\0');
  std::ofstream{file, std::ios::binary} << file_bytes;
}

} // namespace

TEST_CASE("a record whose value is JSON text (an earlier build's log) still "
          "replays") {
  log_dir d;
  auto file = d.path / "changes.log";
  write_one_record(file, 7, "[1,2,3]");
  auto log = open_log(file);
  CHECK(log->last() == 1);
  auto all = log->replay(0);
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK(*all->at(0).assigns.at(0).value == boost::json::value({1, 2, 3}));
}

TEST_CASE("a binary value that does not decode fails the replay") {
  log_dir d;
  auto file = d.path / "changes.log";
  SUBCASE("an unknown tag") {
    write_one_record(file, 1 | (1u << 31), std::string(1, '\x63'));
  }
  SUBCASE("an int64 array longer than its bytes") {
    std::string bytes{"\x09", 1};
    std::uint32_t count = 1000;
    bytes.append(reinterpret_cast<const char*>(&count), 4);
    bytes.append(8, '\0');
    write_one_record(file, static_cast<std::uint32_t>(bytes.size())
                             | (1u << 31),
                     bytes);
  }
  auto log = open_log(file);
  auto all = log->replay(0);
  REQUIRE_FALSE(all);
  CHECK(all.error() == registry_error::journal_corrupt);
}

TEST_CASE("a record cut short by the process's death is not read back") {
  log_dir d;
  auto file = d.path / "changes.log";
  std::size_t end_of_first = 0;
  {
    auto log = open_log(file);
    REQUIRE(!log->append({put({"t", "a"}, "n", 1)}));
    end_of_first = 64 + log->used();
    REQUIRE(!log->append({put({"t", "a"}, "n", 2)}));
  }
  { // The second record lost its sequence number, the store that publishes
    // it: as if the process died just before it.
    std::fstream f{file, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(static_cast<std::streamoff>(end_of_first));
    std::uint64_t zero = 0;
    f.write(reinterpret_cast<const char*>(&zero), sizeof zero);
  }
  auto log = open_log(file);
  CHECK(log->last() == 1);
  auto all = log->replay(0);
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK(*all->at(0).assigns.at(0).value == boost::json::value(1));
}

TEST_CASE("after a restart the old round's records are never replayed, even "
          "where the new round is shorter") {
  log_dir d;
  auto file = d.path / "changes.log";
  {
    auto log = open_log(file);
    REQUIRE(!log->append({put({"t", "a"}, "n", 1)}));
    REQUIRE(!log->append({put({"t", "a"}, "n", 2)}));
    log->restart();
    CHECK(log->used() == 0);
    REQUIRE(!log->append({put({"t", "a"}, "n", 3)}));
  }
  auto log = open_log(file);
  CHECK(log->last() == 3);
  auto all = log->replay(0);
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK(*all->at(0).assigns.at(0).value == boost::json::value(3));
}

TEST_CASE("the log grows past its first mapping") {
  log_dir d;
  auto file = d.path / "changes.log";
  boost::json::string big(std::size_t{1} << 20, 'x');
  {
    auto log = open_log(file);
    for (int i = 0; i < 6; ++i)
      REQUIRE(!log->append({put({"t", "a"}, std::to_string(i), big)}));
  }
  auto all = open_log(file)->replay(0);
  REQUIRE(all);
  CHECK(all->size() == 6);
  CHECK(all->at(5).assigns.at(0).value->as_string().size() == big.size());
}

TEST_CASE("a second process cannot append to a log in use") {
  log_dir d;
  auto file = d.path / "changes.log";
  auto first = open_log(file);
  auto second = journal_log::open(file.string());
  REQUIRE(!second);
  CHECK(second.error() == registry_error::journal_unusable);
  CHECK(describe(second.error()).find("in use") != std::string::npos);
}

TEST_CASE("what a dead process logged but did not apply is in the journal "
          "when it is opened again") {
  log_dir d;
  {
    auto js = open_store(d);
    REQUIRE(!js->apply({put({"t", "a"}, "n", 1)}));
    REQUIRE(!js->log({put({"t", "a"}, "n", 2)}));
    REQUIRE(!js->log({put({"t", "b"}, "m", "x")}));
    CHECK(js->unapplied());
    // The store goes without apply(): LMDB never saw the two batches.
  }
  auto js = open_store(d);
  CHECK_FALSE(js->unapplied());
  CHECK(state_of(*js, {"t", "a"}) == boost::json::object{{"n", 2}});
  CHECK(state_of(*js, {"t", "b"}) == boost::json::object{{"m", "x"}});
  // Replayed once: the log starts over, a later crash does not apply the
  // same records over newer ones.
  REQUIRE(!js->apply({put({"t", "a"}, "n", 5)}));
  js.reset();
  js = open_store(d);
  CHECK(state_of(*js, {"t", "a"}) == boost::json::object{{"n", 5}});
}

TEST_CASE("apply() writes the logged batches and a newer one together; a "
          "logged value a later change replaced is never written") {
  log_dir d;
  auto js = open_store(d, std::size_t{64} << 10);
  // Too big for this map: a transaction that wrote it would fail.
  REQUIRE(!js->log(
    {put({"t", "a"}, "big", boost::json::string(std::size_t{1} << 20, 'x'))}));
  REQUIRE(!js->log({put({"t", "b"}, "n", 1)}));
  REQUIRE(!js->apply({put({"t", "a"}, "big", "small")}));
  CHECK_FALSE(js->unapplied());
  CHECK(js->checkpoints() == 1);
  CHECK(state_of(*js, {"t", "a"}) == boost::json::object{{"big", "small"}});
  CHECK(state_of(*js, {"t", "b"}) == boost::json::object{{"n", 1}});
}

TEST_CASE("a checkpoint taken out of the log goes into LMDB while records "
          "are logged behind it: a death right after replays exactly those") {
  log_dir d;
  {
    auto js = open_store(d);
    REQUIRE(!js->log({put({"t", "a"}, "n", 1)}));
    REQUIRE(!js->log({put({"t", "b"}, "m", 1)}));
    auto taken = js->take_unapplied();
    CHECK(taken.batches.size() == 2);
    CHECK_FALSE(js->unapplied());
    // Logged while the checkpoint's transaction runs.
    REQUIRE(!js->log({put({"t", "a"}, "n", 2)}));
    REQUIRE(!js->apply_taken(taken));
    js->taken_applied();
    CHECK(js->unapplied()); // the log has not started over yet
    CHECK(js->checkpoints() == 0);
    // The process dies before the write that starts the log over.
  }
  {
    auto js = open_store(d);
    CHECK(state_of(*js, {"t", "a"}) == boost::json::object{{"n", 2}});
    CHECK(state_of(*js, {"t", "b"}) == boost::json::object{{"m", 1}});
    // Without a death: the next apply() takes the rest and starts over.
    auto before = js->checkpoints();
    REQUIRE(!js->log({put({"t", "b"}, "m", 2)}));
    auto taken = js->take_unapplied();
    REQUIRE(!js->apply_taken(taken));
    js->taken_applied();
    REQUIRE(!js->apply({}));
    CHECK_FALSE(js->unapplied());
    CHECK(js->checkpoints() == before + 1);
  }
  auto js = open_store(d);
  CHECK(state_of(*js, {"t", "b"}) == boost::json::object{{"m", 2}});
}

TEST_CASE("a checkpoint that fails goes back in front of what was logged "
          "since; the locked write never writes a value a later one "
          "replaced") {
  log_dir d;
  auto js = open_store(d, std::size_t{64} << 10);
  // Too big for this map: the checkpoint's transaction fails.
  REQUIRE(!js->log(
    {put({"t", "a"}, "big", boost::json::string(std::size_t{1} << 20, 'x'))}));
  REQUIRE(!js->log({put({"t", "b"}, "n", 1)}));
  auto taken = js->take_unapplied();
  REQUIRE(!js->log({put({"t", "a"}, "big", "small")}));
  REQUIRE(js->apply_taken(taken));
  js->untake(std::move(taken));
  REQUIRE(!js->apply({}));
  CHECK_FALSE(js->unapplied());
  CHECK(state_of(*js, {"t", "a"}) == boost::json::object{{"big", "small"}});
  CHECK(state_of(*js, {"t", "b"}) == boost::json::object{{"n", 1}});
}

TEST_CASE("a journal of format 1 opens and is marked with this build's "
          "format") {
  log_dir d;
  { // A format-1 journal: LMDB only, no log.
    MDB_env* env = nullptr;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 2);
    REQUIRE(mdb_env_open(env, d.path.c_str(), 0, 0644) == 0);
    MDB_txn* txn = nullptr;
    mdb_txn_begin(env, nullptr, 0, &txn);
    MDB_dbi meta;
    REQUIRE(mdb_dbi_open(txn, "meta", MDB_CREATE, &meta) == 0);
    MDB_dbi assigns;
    REQUIRE(mdb_dbi_open(txn, "assigns", MDB_CREATE, &assigns) == 0);
    std::string k = "format", v = "1";
    MDB_val kv{k.size(), k.data()}, vv{v.size(), v.data()};
    mdb_put(txn, meta, &kv, &vv, 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
  }
  open_store(d);
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 2);
  REQUIRE(mdb_env_open(env, d.path.c_str(), MDB_RDONLY, 0644) == 0);
  MDB_txn* txn = nullptr;
  mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
  MDB_dbi meta;
  REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
  std::string k = "format";
  MDB_val kv{k.size(), k.data()}, vv;
  REQUIRE(mdb_get(txn, meta, &kv, &vv) == 0);
  CHECK(std::string{static_cast<char*>(vv.mv_data), vv.mv_size}
        == std::to_string(journal_store::format_version));
  mdb_txn_abort(txn);
  mdb_env_close(env);
}

TEST_CASE("a new log beside a journal that applied an older one numbers its "
          "records after LMDB's position: none is skipped at replay") {
  log_dir d;
  {
    auto js = open_store(d);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(!js->log({put({"t", "a"}, "n", i)}));
      REQUIRE(!js->apply({}));
    }
  }
  // The log file is lost (an operator removed it); LMDB says 3 applied.
  fs::remove(d.path / "changes.log");
  {
    auto js = open_store(d);
    REQUIRE(!js->log({put({"t", "a"}, "n", 7)}));
  } // dies before apply()
  auto js = open_store(d);
  CHECK(state_of(*js, {"t", "a"}) == boost::json::object{{"n", 7}});
}

TEST_CASE("a log file that is all zeros (its creation was cut short) opens "
          "as a new log") {
  log_dir d;
  auto file = d.path / "changes.log";
  {
    std::ofstream out{file, std::ios::binary};
    std::string zeros(4096, '\0');
    out << zeros;
  }
  {
    auto log = open_log(file);
    CHECK(log->last() == 0);
    REQUIRE(!log->append({put({"t", "a"}, "n", 1)}));
  }
  auto all = open_log(file)->replay(0);
  REQUIRE(all);
  CHECK(all->size() == 1);
}
