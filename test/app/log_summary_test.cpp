// The log's rate limit: a storm's summary line comes from the one-second
// timer even when no further event of its kind follows. Deterministic: the
// timer runs on CAF's test coordinator and the events carry virtual times.
#include <doctest/doctest.h>

#include <memory>
#include <sstream>
#include <string>

#include <caf/all.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include <chanstate/endpoint/log.hpp>
#include "deterministic_system.hpp"

using namespace chanstate;
using namespace std::chrono_literals;

namespace {

struct fixture : test::deterministic_system {
  std::ostringstream out;
  caf::actor timer;

  fixture() {
    flush_log_summaries(); // nothing left over from another case
    setup_logging(spdlog::level::info, log_format::text,
                  std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    timer = spawn_log_summaries(sys);
    sched.run();
  }

  ~fixture() {
    flush_log_summaries();
    // The sink writes into `out`, which goes with the fixture.
    setup_logging(spdlog::level::info, log_format::text);
    caf::anon_send_exit(timer, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // Moves virtual time on by `d`; the timer ticks whenever it is due.
  void advance(caf::timespan d) {
    sched.advance_time(d);
    sched.run();
  }

  // `n` events of one kind at the current virtual time.
  void storm(int n, std::string_view kind = "test_storm") {
    for (int i = 0; i < n; ++i)
      log_limited_at(sched.clock().now(), spdlog::level::warn, kind,
                     "storm event", {{"i", i}});
  }

  std::size_t lines(std::string_view needle) const {
    std::size_t n = 0;
    std::istringstream in{out.str()};
    for (std::string line; std::getline(in, line);)
      if (line.find(needle) != std::string::npos)
        ++n;
    return n;
  }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "a storm's last second is summed up by the timer "
                           "though no event of its kind follows") {
  // Step 1: eight events in one second: five lines, three held back.
  storm(8);
  CHECK(lines("storm event") == 5);
  CHECK(lines("more test_storm") == 0);
  // Step 2: the second is not over yet: the timer says nothing.
  advance(999ms);
  CHECK(lines("more test_storm") == 0);
  // Step 3: it is over at the next tick: one summary with the count.
  advance(1ms);
  CHECK(lines("3 more test_storm in the last second") == 1);
  // Step 4: said once; later ticks add nothing.
  advance(5s);
  CHECK(lines("more test_storm") == 1);
  CHECK(lines("storm event") == 5);
}

TEST_CASE_FIXTURE(fixture, "a second within the limit gets no summary") {
  storm(5);
  advance(3s);
  CHECK(lines("storm event") == 5);
  CHECK(lines("more test_storm") == 0);
  // The window was forgotten: the next second has its five lines again.
  storm(6);
  CHECK(lines("storm event") == 10);
  advance(1s);
  CHECK(lines("1 more test_storm in the last second") == 1);
}

TEST_CASE_FIXTURE(fixture, "an event after the second, before the tick, "
                           "writes the summary first") {
  storm(7);
  // No tick in between (the clock has not moved): the event itself ends
  // the old second and says it before its own line.
  log_limited_at(sched.clock().now() + 1500ms, spdlog::level::warn,
                 "test_storm", "late event");
  CHECK(lines("2 more test_storm in the last second") == 1);
  auto text = out.str();
  CHECK(text.find("2 more test_storm") < text.find("late event"));
  // The timer does not say that second again.
  advance(3s);
  CHECK(lines("more test_storm") == 1);
}

TEST_CASE_FIXTURE(fixture, "kinds are limited and summed up separately") {
  storm(6, "kind_a");
  storm(9, "kind_b");
  advance(1s);
  CHECK(lines("1 more kind_a in the last second") == 1);
  CHECK(lines("4 more kind_b in the last second") == 1);
}
