// The commit cell: generations for the poison guard, a spare for the writer.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <chanstate/registry/commit_cell.hpp>

using namespace chanstate;

namespace {

std::int64_t n_of(const snapshot& s) {
  return s.find("n")->as_int64();
}

// What a channel's socket does per event with write-through on: change
// one value (reusing the cell's spare) and publish, keeping a view of
// what the cell now holds (commit_sink::publish).
void commit_n(commit_cell& cell, snapshot& assigns, std::int64_t n) {
  if (assigns.unshared())
    assigns.set("n", n);
  else
    assigns.set("n", n, cell.take_spare());
  cell.store(assigns.hand_over());
}

} // namespace

TEST_CASE("the spare never shows among the generations, and a reused spare "
          "leaves every generation as it was") {
  for (std::size_t keep : {1, 2, 3}) {
    CAPTURE(keep);
    auto start = snapshot::from_object({{"n", 0}, {"x", 7}});
    commit_cell cell{start, {}, keep};
    auto assigns = cell.load();
    for (std::int64_t n = 1; n <= 6; ++n) {
      commit_n(cell, assigns, n);
      auto gens = cell.generations();
      // The newest first, as many as kept (or as many commits as there were).
      REQUIRE(gens.size() == std::min<std::size_t>(keep, n + 1));
      for (std::size_t g = 0; g < gens.size(); ++g)
        CHECK(n_of(gens[g]) == n - static_cast<std::int64_t>(g));
      CHECK(n_of(cell.load()) == n);
      CHECK(cell.load().find("x")->as_int64() == 7);
    }
    CHECK(cell.commits() == 6);
  }
}

TEST_CASE("after a few commits the writer's next change allocates no map") {
  auto start = snapshot::from_object({{"n", 0}, {"x", 7}});
  commit_cell cell{start, {}, 2};
  auto assigns = cell.load();
  for (std::int64_t n = 1; n <= 3; ++n)
    commit_n(cell, assigns, n);
  // The spare is the map that dropped out of the generations: the next
  // change fills it, so the new assigns are that very map.
  auto spare = cell.take_spare();
  REQUIRE_FALSE(spare.empty());
  const auto* map = spare.items().begin();
  auto next = assigns;
  next.set("n", 4, std::move(spare));
  CHECK(next.items().begin() == map);
  CHECK(n_of(next) == 4);
  CHECK(n_of(assigns) == 3); // the published state is untouched
  CHECK(n_of(cell.load()) == 3);
  // Taken: nothing left until the next commit displaces a map.
  CHECK(cell.take_spare().empty());
}

TEST_CASE("a displaced map someone still holds is not made a spare") {
  auto start = snapshot::from_object({{"n", 0}});
  commit_cell cell{start, {}, 1};
  auto reader = cell.load(); // e.g. the registry copied the state
  cell.store(start.with("n", 1));
  CHECK(cell.take_spare().empty());
  CHECK(n_of(reader) == 0);
}

TEST_CASE("an untaken spare does not outlive a commit that makes none") {
  auto first = snapshot::from_object({{"n", 0}, {"big", "kept by a spare"}});
  auto second = first.with("n", 1);
  commit_cell cell{std::move(first), {}, 1};
  // Nobody takes the spare (as for a cell the registry writes itself).
  cell.store(std::move(second));
  cell.store(snapshot::from_object({{"n", 2}})); // a key fewer: no spare
  CHECK(cell.take_spare().empty());
  CHECK(n_of(cell.load()) == 2);
}
