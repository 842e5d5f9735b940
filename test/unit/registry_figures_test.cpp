// The figures behind /metrics' histograms: a backup's age when it is
// restored, and what the journal writer reports for each transaction,
// failures (a full LMDB map) included.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <unistd.h>

#include "temp_dir.hpp"

#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/registry/backup_table.hpp>
#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/registry/journal_store.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace chanstate;
using namespace std::chrono_literals;

namespace {

using chanstate::test::temp_dir;

caf::behavior idle(caf::event_based_actor*, int) {
  return {[](int) {}};
}

std::uint64_t total(const json::array& counts) {
  std::uint64_t n = 0;
  for (const auto& c : counts)
    n += c.as_uint64();
  return n;
}

/// The bucket (index into counts) that holds `value` for `bounds`.
std::size_t bucket_of(const json::array& bounds, double value) {
  std::size_t i = 0;
  while (i < bounds.size() && value > bounds[i].to_number<double>())
    ++i;
  return i;
}

} // namespace

TEST_CASE("a restore records its backup's age: from the crash to the join") {
  testing::channel_case bench;
  backup_table table{registry_config{}};
  auto channel = [&] {
    auto a = bench.system().spawn(idle, 0);
    bench.watch(a);
    return a.address();
  };
  time_point t0{};
  // Step 1: a channel commits and crashes at t0: its backup is stored.
  auto ch = channel();
  auto out = table.attach({"room:1", "a"}, ch, t0);
  out.cell->store(snapshot::from_object({{"x", 1}}));
  table.detach(ch, caf::make_error(channel_exit::crashed, "oopsy"), t0);
  // Step 2: the rejoin 3 s later restores it.
  auto again = table.attach({"room:1", "a"}, channel(), t0 + 3s);
  REQUIRE(again.restored);
  // Step 3: a fresh join restores nothing and records nothing.
  table.attach({"room:2", "b"}, channel(), t0 + 4s);
  auto h = table.stats().at("backup_age_at_restore").as_object();
  const auto& counts = h.at("counts").as_array();
  CHECK(total(counts) == 1);
  CHECK(counts[bucket_of(h.at("bounds_s").as_array(), 3.0)].as_uint64() == 1);
  CHECK(h.at("sum_s").to_number<double>() == doctest::Approx(3.0));
}

TEST_CASE("the journal writer reports each transaction; a full map is a "
          "counted failure told to the listener with LMDB's text") {
  temp_dir d;
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  // The smallest map LMDB takes well: a few pages past its own.
  auto store = journal_store::open(d.path.string(), std::size_t{64} << 10);
  REQUIRE(store);
  auto j = spawn_journal(sys, std::move(*store), {}, 10ms);
  std::mutex mtx;
  std::vector<journal_write_event> events;
  j.stats->set_listener([&](const journal_write_event& ev) {
    std::lock_guard<std::mutex> guard{mtx};
    events.push_back(ev);
  });
  backup_table table{registry_config{}};
  table.set_observer(j.observer);
  caf::scoped_actor self{sys};
  auto barrier = [&] {
    self->request(j.writer, caf::infinite, caf::flush_atom::value)
      .receive([] {}, [](caf::error& err) { FAIL(describe(err)); });
  };
  auto alive = sys.spawn(idle, 0);
  // Step 1: two keys in one transaction.
  auto a = table.attach({"room:f", "a"}, alive.address(), time_point{});
  table.put_backup({"room:f", "b"}, snapshot::from_object({{"k", 1}}),
                   time_point{});
  a.cell->store(snapshot::from_object({{"x", 1}}));
  barrier();
  auto fig = table.stats().at("journal").as_object();
  CHECK(fig.at("write_errors").as_uint64() == 0);
  CHECK_FALSE(fig.at("failing").as_bool());
  auto keys = fig.at("batch_keys").as_object();
  CHECK(total(keys.at("counts").as_array()) == fig.at("batches").as_uint64());
  CHECK(keys.at("sum").to_number<double>() == 2);
  CHECK(total(fig.at("batch_write_seconds").as_object().at("counts").as_array())
        == fig.at("batches").as_uint64());
  // Step 2: a state larger than the whole map cannot be written.
  json::array big;
  for (int i = 0; i < 40000; ++i)
    big.push_back(1234567890123456789);
  a.cell->store(snapshot::from_object({{"big", big}}));
  barrier();
  fig = table.stats().at("journal").as_object();
  CHECK(fig.at("write_errors").as_uint64() >= 1);
  CHECK(fig.at("failing").as_bool());
  CHECK(std::string{fig.at("last_error").as_string()}.find("MDB_MAP_FULL")
        != std::string::npos);
  {
    std::lock_guard<std::mutex> guard{mtx};
    REQUIRE_FALSE(events.empty());
    CHECK_FALSE(events.front().recovered);
    CHECK(events.front().failed_attempts == 1);
    CHECK(events.front().error.find("MDB_MAP_FULL") != std::string::npos);
  }
  // Step 3: the state shrinks again: the retry writes it, and the listener
  // hears that writes work again.
  a.cell->store(snapshot::from_object({{"x", 2}}));
  barrier();
  fig = table.stats().at("journal").as_object();
  CHECK_FALSE(fig.at("failing").as_bool());
  {
    std::lock_guard<std::mutex> guard{mtx};
    CHECK(events.back().recovered);
    CHECK(events.back().failed_attempts
          == fig.at("write_errors").as_uint64());
  }
  self->send_exit(j.writer, caf::exit_reason::user_shutdown);
  self->send_exit(alive, caf::exit_reason::user_shutdown);
}
