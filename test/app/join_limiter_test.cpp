#include <chanstate/endpoint/join_limiter.hpp>

#include <doctest/doctest.h>

using namespace chanstate;
using namespace std::chrono_literals;

namespace {

const auto t0 = join_limiter::clock::time_point{} + 1h;

} // namespace

TEST_CASE("a client may join its burst at once, then waits for the rate") {
  join_limiter lim{{10, 3}};
  for (int i = 0; i < 3; ++i)
    CHECK(lim.admit("a", t0).allowed);
  auto refused = lim.admit("a", t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 100ms); // one token at 10 per second
  CHECK_FALSE(lim.admit("a", t0 + 99ms).allowed);
  CHECK(lim.admit("a", t0 + 100ms).allowed);
}

TEST_CASE("the retry hint is the time until the next token") {
  join_limiter lim{{4, 1}};
  CHECK(lim.admit("a", t0).allowed);
  CHECK(lim.admit("a", t0 + 100ms).retry_after == 150ms);
  CHECK(lim.admit("a", t0 + 250ms).allowed);
}

TEST_CASE("one client's storm leaves other clients alone") {
  join_limiter lim{{1, 2}};
  CHECK(lim.admit("storm", t0).allowed);
  CHECK(lim.admit("storm", t0).allowed);
  CHECK_FALSE(lim.admit("storm", t0).allowed);
  CHECK(lim.admit("calm", t0).allowed);
  CHECK(lim.admit("calm", t0).allowed);
}

TEST_CASE("refused joins do not use tokens up") {
  join_limiter lim{{10, 1}};
  CHECK(lim.admit("a", t0).allowed);
  for (int i = 0; i < 50; ++i)
    CHECK_FALSE(lim.admit("a", t0 + 50ms).allowed);
  CHECK(lim.admit("a", t0 + 100ms).allowed);
}

TEST_CASE("a bucket never holds more than the burst") {
  join_limiter lim{{10, 2}};
  CHECK(lim.admit("a", t0).allowed);
  // An hour idle refills to 2, not to 36 000.
  auto later = t0 + 1h;
  CHECK(lim.admit("a", later).allowed);
  CHECK(lim.admit("a", later).allowed);
  CHECK_FALSE(lim.admit("a", later).allowed);
}

TEST_CASE("rate 0 turns the limit off and tracks nobody") {
  join_limiter lim{{0, 1}};
  for (int i = 0; i < 1000; ++i)
    CHECK(lim.admit("a", t0).allowed);
  CHECK(lim.tracked_clients() == 0);
}

TEST_CASE("idle clients' buckets are swept: memory follows active clients") {
  join_limiter lim{{100, 1}}; // a bucket is full again after 10 ms
  for (int i = 0; i < 5000; ++i)
    lim.admit("client-" + std::to_string(i), t0);
  CHECK(lim.tracked_clients() == 5000); // none idle yet: nothing swept
  // Much later, new clients trigger a sweep that drops every idle one.
  auto later = t0 + 1s;
  for (int i = 0; i < 5000; ++i)
    lim.admit("late-" + std::to_string(i), later);
  CHECK(lim.tracked_clients() == 5000);
}
