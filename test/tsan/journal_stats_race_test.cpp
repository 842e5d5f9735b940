// The journal writer's figures across real threads, under ThreadSanitizer:
// the writer records batches (and failures, told to a listener) while
// /stats reads them and the node sets its listener.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include <boost/json.hpp>

#include <chanstate/registry/journal_stats.hpp>

using namespace chanstate;

TEST_CASE("journal figures are read while the writer records batches") {
  journal_stats stats;
  constexpr std::uint64_t batches = 20000;
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> told{0};
  // The registry's side: stats() at any time.
  std::thread reader{[&] {
    std::uint64_t last = 0;
    while (!done.load(std::memory_order_acquire)) {
      auto doc = stats.to_json();
      auto n = doc.at("batches").as_uint64() + doc.at("write_errors").as_uint64();
      REQUIRE(n >= last);
      last = n;
    }
  }};
  // The node's side: the listener is set while the writer already runs.
  std::thread node{[&] {
    stats.set_listener([&](const journal_write_event&) {
      told.fetch_add(1, std::memory_order_relaxed);
    });
  }};
  // The writer's side: every tenth transaction fails.
  std::thread writer{[&] {
    for (std::uint64_t i = 0; i < batches; ++i)
      stats.record_batch(1 + i % 50, std::chrono::microseconds{i % 700},
                         i % 10 == 5 ? "MDB_MAP_FULL" : "");
    done.store(true, std::memory_order_release);
  }};
  writer.join();
  node.join();
  reader.join();
  auto doc = stats.to_json();
  CHECK(doc.at("write_errors").as_uint64() == batches / 10);
  CHECK(doc.at("batches").as_uint64() == batches - batches / 10);
  CHECK(doc.at("last_error").as_string() == "MDB_MAP_FULL");
  CHECK_FALSE(doc.at("failing").as_bool());
  // Each failure and each recovery is told once the listener is set.
  CHECK(told.load() <= 2 * batches / 10);
}
