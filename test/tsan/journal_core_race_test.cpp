// The journal's core across real threads, under ThreadSanitizer: channels
// commit and wait on their own keys (logging their batches), the writer's
// transactions take the log into LMDB meanwhile (with and without the
// batch lock). No actor runs: the waits
// that must be noted name no channel, so nobody is told, and the process
// "dies" at the end without a last transaction.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <caf/actor.hpp>
#include <unistd.h>

#include <chanstate/registry/journal_core.hpp>
#include <chanstate/registry/journal_store.hpp>

namespace fs = std::filesystem;
using namespace chanstate;
using namespace chanstate::journal_detail;

TEST_CASE("channels logging their waits while the writer applies the log "
          "lose no acknowledged value") {
  auto dir = fs::temp_directory_path()
             / ("chanstate-tsan-journal-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  constexpr int channels = 4;
  constexpr std::int64_t commits = 3000;
  std::vector<std::int64_t> acked(channels, -1);
  {
    auto store = journal_store::open(dir.string(), std::size_t{64} << 20);
    REQUIRE(store);
    journal_core core;
    core.batch.store = std::move(*store);
    core.batch.stats = std::make_shared<journal_stats>();
    std::atomic<int> running{channels};
    std::vector<std::thread> threads;
    for (int c = 0; c < channels; ++c)
      threads.emplace_back([&, c] {
        backup_key key{"room", "client-" + std::to_string(c)};
        for (std::int64_t i = 0; i < commits; ++i) {
          auto s = snapshot{}.with("n", boost::json::value(i));
          core.inbox.put(key, &s); // what the observer does on a commit
          // Every third commit a frame follows it (a `get` after adds).
          if (i % 3 == 0 && core.await(key, caf::actor{},
                                       static_cast<std::uint64_t>(i)))
            acked[c] = i;
        }
        running.fetch_sub(1, std::memory_order_release);
      });
    threads.emplace_back([&] { // the writer: commits nobody waited for
      while (running.load(std::memory_order_acquire) > 0) {
        // As the writer actor's flush: the logged batches go into LMDB
        // without the batch lock while channels go on logging, then a
        // locked write takes the rest.
        checkpoint_unlocked(core);
        {
          std::lock_guard<std::mutex> guard{core.batch.mtx};
          REQUIRE(write_staged(core, true));
          core.inbox.written();
        }
        std::this_thread::yield();
      }
    });
    for (auto& t : threads)
      t.join();
    // The process dies here: what was logged after the last transaction
    // is only in the log.
  }
  auto store = journal_store::open(dir.string(), std::size_t{64} << 20);
  REQUIRE(store);
  auto all = (*store)->load();
  REQUIRE(all);
  std::map<std::string, std::int64_t> found;
  for (auto& [key, s] : *all)
    found[key.client_id] = s.find("n")->as_int64();
  for (int c = 0; c < channels; ++c) {
    CAPTURE(c);
    CHECK(acked[c] >= 0);
    auto it = found.find("client-" + std::to_string(c));
    REQUIRE(it != found.end());
    CHECK(it->second >= acked[c]);
    CHECK(it->second < commits);
  }
  store->reset();
  fs::remove_all(dir);
}
