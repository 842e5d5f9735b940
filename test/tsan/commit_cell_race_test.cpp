// Commit cell and snapshots across real threads, under ThreadSanitizer: the
// channel's worker publishes while the registry's worker reads.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include <chanstate/registry/commit_cell.hpp>
#include <chanstate/registry/snapshot.hpp>

using namespace chanstate;

namespace {

constexpr std::int64_t commits = 20000;

snapshot base_state() {
  boost::json::object obj;
  obj["blob"] = boost::json::array(64, boost::json::value("shared bytes"));
  obj["n"] = 0;
  return snapshot::from_object(obj);
}

} // namespace

TEST_CASE("a reader sees only whole commits while the channel publishes") {
  auto cell = std::make_shared<commit_cell>(base_state(),
                                            std::vector<snapshot>{}, 3);
  std::atomic<bool> done{false};
  // The registry's side: load() may run at any time while the channel lives.
  std::thread reader{[&] {
    std::int64_t last = 0;
    while (!done.load(std::memory_order_acquire)) {
      auto s = cell->load();
      auto n = s.find("n");
      REQUIRE(n != nullptr);
      REQUIRE(n->as_int64() >= last);
      last = n->as_int64();
      REQUIRE(s.find("blob")->as_array().size() == 64);
      REQUIRE(s.byte_size() > 0);
    }
  }};
  // The channel's side: each handler builds the next state from the last
  // one (sharing the unchanged blob) and publishes it.
  std::thread channel{[&] {
    auto s = cell->load();
    for (std::int64_t i = 1; i <= commits; ++i) {
      s = s.with("n", i);
      cell->store(s);
      cell->event_started("add");
      cell->event_completed();
    }
    done.store(true, std::memory_order_release);
  }};
  channel.join();
  reader.join();
  // After the channel is down the registry reads the rest of the cell.
  CHECK(cell->load().find("n")->as_int64() == commits);
  CHECK(cell->commits() == static_cast<std::uint64_t>(commits));
  CHECK(cell->progressed());
  CHECK(cell->last_event() == "add");
  auto gens = cell->generations();
  REQUIRE(gens.size() == 3);
  CHECK(gens[1].find("n")->as_int64() == commits - 1);
}

TEST_CASE("a channel that reuses the cell's spare and keeps a view races "
          "with no reader") {
  for (std::size_t keep : {1, 2}) {
    auto cell = std::make_shared<commit_cell>(base_state(),
                                              std::vector<snapshot>{}, keep);
    std::atomic<bool> done{false};
    // The registry's side: it copies the state (so a displaced map may
    // still be held here when the channel would reuse it).
    std::thread reader{[&] {
      std::int64_t last = 0;
      while (!done.load(std::memory_order_acquire)) {
        auto s = cell->load();
        REQUIRE(s.find("n")->as_int64() >= last);
        last = s.find("n")->as_int64();
        REQUIRE(s.find("blob")->as_array().size() == 64);
      }
    }};
    // The channel's side, as its socket does: change one value in the map
    // the last commit displaced, publish, keep a view of what was published.
    std::thread channel{[&] {
      auto s = cell->load();
      for (std::int64_t i = 1; i <= commits; ++i) {
        if (s.unshared())
          s.set("n", i);
        else
          s.set("n", i, cell->take_spare());
        cell->store(s.hand_over());
        REQUIRE(s.find("n")->as_int64() == i);
      }
      done.store(true, std::memory_order_release);
    }};
    channel.join();
    reader.join();
    CHECK(cell->load().find("n")->as_int64() == commits);
  }
}

TEST_CASE("one snapshot is read and extended by several threads at once") {
  auto shared = base_state();
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([shared, t] {
      for (int i = 0; i < 2000; ++i) {
        auto mine = shared.with("t" + std::to_string(t), i).without("n");
        REQUIRE(mine.find("blob") == shared.find("blob")); // shared, not copied
        REQUIRE(mine.to_object().size() == 2);
        REQUIRE(shared.to_object().size() == 2);
      }
    });
  for (auto& w : workers)
    w.join();
  CHECK(shared.find("n")->as_int64() == 0);
}
