// The soak's state check: a checker that never finds anything proves
// nothing, so each kind of fault is shown to be found.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "test/bench/soak_model.hpp"

using namespace chanstate::bench;

namespace {

boost::json::array ns(std::initializer_list<std::int64_t> xs) {
  boost::json::array out;
  for (auto x : xs)
    out.emplace_back(x);
  return out;
}

soak_verdict check(const boost::json::array& observed,
                   const std::vector<std::int64_t>& acked,
                   const std::vector<std::int64_t>& sent, soak_expect how) {
  std::vector<std::int64_t> own;
  return soak_check(3, observed, acked, sent, how, own);
}

const auto a = soak_value(3, 0);
const auto b = soak_value(3, 1);
const auto c = soak_value(3, 2);
const auto d = soak_value(3, 3);

} // namespace

TEST_CASE("soak values name their client") {
  CHECK(soak_owner(soak_value(0, 0)) == 0);
  CHECK(soak_owner(soak_value(9999, 123456)) == 9999);
  CHECK(soak_owner(42) == -1);
}

TEST_CASE("the state the model expects passes") {
  CHECK(check(ns({a, b, c}), {a, b}, {c}, soak_expect::exact).ok());
  CHECK(check(ns({}), {}, {}, soak_expect::exact).ok());
  CHECK(check(ns({}), {}, {}, soak_expect::fresh).ok());
}

TEST_CASE("after a drop, any prefix of the unacknowledged adds passes") {
  CHECK(check(ns({a, b}), {a, b}, {c, d}, soak_expect::prefix).ok());
  CHECK(check(ns({a, b, c}), {a, b}, {c, d}, soak_expect::prefix).ok());
  CHECK(check(ns({a, b, c, d}), {a, b}, {c, d}, soak_expect::prefix).ok());
}

TEST_CASE("a state that is gone is lost, value by value") {
  auto v = check(ns({}), {a, b}, {c}, soak_expect::exact);
  CHECK(v.lost == 3);
  CHECK(v.stale == 0);
  CHECK(check(ns({}), {a, b}, {c}, soak_expect::prefix).lost == 2);
}

TEST_CASE("an older commit is stale") {
  auto v = check(ns({a}), {a, b}, {}, soak_expect::exact);
  CHECK(v.stale == 1);
  CHECK(v.lost == 0);
  // A crash handles every add sent before it: missing the last is stale.
  CHECK(check(ns({a, b}), {a, b}, {c}, soak_expect::exact).stale == 1);
  CHECK(check(ns({a}), {a, b}, {c}, soak_expect::prefix).stale == 1);
}

TEST_CASE("a state that comes back after a clean leave is stale") {
  CHECK(check(ns({a}), {}, {}, soak_expect::fresh).stale == 1);
}

TEST_CASE("another client's values are leaked") {
  auto v = check(ns({a, soak_value(4, 0), b}), {a, b}, {}, soak_expect::exact);
  CHECK(v.leaked == 1);
  CHECK(v.lost == 0);
  CHECK(check(ns({soak_value(7, 1)}), {}, {}, soak_expect::fresh).leaked == 1);
  CHECK(check(ns({soak_value(7, 1)}), {}, {}, soak_expect::unknown).leaked
        == 1);
}

TEST_CASE("values missing from the middle are lost; extra ones mismatched") {
  auto v = check(ns({a, c}), {a, b, c}, {}, soak_expect::exact);
  CHECK(v.lost == 1);
  CHECK(v.mismatched == 0);
  CHECK(check(ns({a, b, b}), {a, b}, {}, soak_expect::exact).mismatched == 1);
  CHECK(check(ns({b, a}), {a, b}, {}, soak_expect::exact).mismatched == 1);
  CHECK(check(ns({a, d}), {a}, {}, soak_expect::exact).mismatched == 1);
}

TEST_CASE("the model continues from what the node served") {
  std::vector<std::int64_t> own;
  soak_check(3, ns({a, soak_value(5, 0), b}), {a}, {b}, soak_expect::exact,
             own);
  CHECK(own == std::vector<std::int64_t>{a, b});
}

TEST_CASE("after a node kill only what a reply showed must survive") {
  // acked: the last reply showed a, b; c was sent (and maybe crashed on).
  CHECK(check(ns({a, b}), {a, b}, {c}, soak_expect::prefix).ok());
  CHECK(check(ns({a, b, c}), {a, b}, {c}, soak_expect::prefix).ok());
  // A journal that lagged behind a reply: an older state is stale, none lost.
  auto older = check(ns({a}), {a, b}, {c}, soak_expect::prefix);
  CHECK(older.stale == 1);
  CHECK(older.lost == 0);
  // Nothing came back: every acknowledged value is lost.
  CHECK(check(ns({}), {a, b}, {c}, soak_expect::prefix).lost == 2);
  // Something new after a gap is not a prefix: lost and mismatched.
  auto gap = check(ns({a, c}), {a, b}, {c}, soak_expect::prefix);
  CHECK(gap.lost == 1);
  CHECK(gap.mismatched == 0);
}
