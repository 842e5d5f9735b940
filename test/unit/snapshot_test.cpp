// Snapshots share unchanged values and never change after publication.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <boost/json.hpp>

#include <chanstate/registry/snapshot.hpp>

using chanstate::snapshot;

TEST_CASE("a snapshot shares every value it did not change") {
  auto a = snapshot::from_object({{"ns", boost::json::array{1, 2}}, {"x", 1}});
  auto b = a.with("x", 2);
  CHECK(a.find("x")->as_int64() == 1);
  CHECK(b.find("x")->as_int64() == 2);
  CHECK(a.find("ns") == b.find("ns"));
  CHECK(b.without("ns").find("ns") == nullptr);
  CHECK(a.to_object() == boost::json::object{{"ns", boost::json::array{1, 2}},
                                             {"x", 1}});
}

namespace {

// byte_size() the slow way: walk every value, as before the running total.
std::size_t walked_size(const snapshot& s) {
  std::size_t n = sizeof(snapshot::entries);
  for (const auto& e : s.items())
    n += sizeof(snapshot::entry) + e.first.size()
         + chanstate::json_byte_size(*e.second);
  return n;
}

} // namespace

TEST_CASE("byte_size stays the walked size through assigns, replacements "
          "and removals") {
  using boost::json::array;
  using boost::json::object;
  using boost::json::value;
  snapshot s;
  CHECK(s.byte_size() == walked_size(s));
  std::string big(300, 'b');
  // Each step: the running total must match a fresh walk and a snapshot
  // built from scratch (from_object sizes every value itself).
  auto step = [&](snapshot next) {
    s = std::move(next);
    CHECK(s.byte_size() == walked_size(s));
    CHECK(s.byte_size() == snapshot::from_object(s.to_object()).byte_size());
  };
  step(s.with("m", value(big)));                        // first key
  step(s.with("a", array{1, 2, value(big)}));           // before it
  step(s.with("z", object{{"k", value(big)}}));         // after it
  auto before_replace = s.byte_size();
  step(s.with("m", 7));                                 // replace: shrinks
  CHECK(s.byte_size() < before_replace);
  step(s.with("m", value(std::string(900, 'x'))));      // replace: grows
  step(s.without("a"));                                 // middle removal
  step(s.without("nothing"));                           // no such key
  step(s.without("z"));
  step(s.without("m"));                                 // empty again
  CHECK(s.empty());
  CHECK(s.byte_size() == snapshot{}.byte_size());
  step(s.with("m", value(big)));
  CHECK(s.byte_size()
        == snapshot{}.byte_size() + snapshot::entry_bytes("m", value(big)));
}

TEST_CASE("a snapshot's size survives sharing: the older one keeps its own") {
  auto a = snapshot::from_object({{"x", boost::json::string(500, 'x')}});
  auto size_a = a.byte_size();
  auto b = a.with("y", boost::json::string(500, 'y'));
  auto c = b.without("x");
  CHECK(a.byte_size() == size_a);
  CHECK(b.byte_size() == walked_size(b));
  CHECK(c.byte_size() == walked_size(c));
  CHECK(b.byte_size() > a.byte_size());
}

TEST_CASE("set changes a map in place only when no other snapshot holds it") {
  auto a = snapshot::from_object({{"x", 1}, {"y", 1}});
  auto shared = a; // a second holder: set must leave it alone
  a.set("x", 2);
  CHECK(shared.find("x")->as_int64() == 1);
  CHECK(a.find("x")->as_int64() == 2);
  CHECK_FALSE(a.same_as(shared));
  // `a` is now the only holder of its map: the next set reuses it.
  auto before = a.find("y");
  a.set("x", 3);
  CHECK(a.find("x")->as_int64() == 3);
  CHECK(a.find("y") == before);
  CHECK(a.byte_size() == walked_size(a));
  a.set("z", boost::json::string(100, 'z')); // a new key: a new map
  CHECK(a.size() == 3);
  CHECK(a.byte_size() == walked_size(a));
  CHECK(shared.size() == 2);
}

TEST_CASE("set with a spare reuses the spare's map and leaves the shared one "
          "alone") {
  auto big = boost::json::string(200, 'b');
  auto shared = snapshot::from_object({{"a", big}, {"n", 1}, {"z", 9}});
  // A spare of the same keys holding one stale value, as a displaced
  // generation is.
  auto spare = shared.with("n", 0);
  REQUIRE(snapshot::trim_spare(spare, shared));
  auto a = shared; // the socket's assigns, shared with the cell
  a.set("n", 2, std::move(spare));
  CHECK(shared.find("n")->as_int64() == 1);
  CHECK(a.find("n")->as_int64() == 2);
  CHECK(a.find("a") == shared.find("a")); // unchanged values stay shared
  CHECK(a.find("z") == shared.find("z"));
  CHECK(a.unshared());
  CHECK(a.byte_size() == walked_size(a));
  CHECK(shared.byte_size() == walked_size(shared));
}

TEST_CASE("a spare that does not fit is dropped and set copies as before") {
  auto shared = snapshot::from_object({{"a", 1}, {"n", 1}});
  // Same size, other keys: the keys are checked place by place.
  auto other = snapshot::from_object({{"b", 1}, {"n", 1}});
  auto a = shared;
  a.set("n", 2, std::move(other));
  CHECK(a.find("n")->as_int64() == 2);
  CHECK(a.find("a")->as_int64() == 1);
  CHECK(a.find("b") == nullptr);
  CHECK(shared.find("n")->as_int64() == 1);
  CHECK(a.byte_size() == walked_size(a));
  // A spare someone else still holds is never changed.
  auto held = shared.with("n", 5);
  auto holder = held;
  auto b = shared;
  b.set("n", 3, std::move(held));
  CHECK(holder.find("n")->as_int64() == 5);
  CHECK(b.find("n")->as_int64() == 3);
  // A displaced map someone else holds cannot become a spare.
  auto second = holder;
  CHECK_FALSE(snapshot::trim_spare(holder, shared));
  CHECK(holder.empty());
  CHECK(second.find("n")->as_int64() == 5);
  // A new key: no spare can hold it.
  auto c = shared;
  auto spare = shared.with("n", 0);
  c.set("m", 4, std::move(spare));
  CHECK(c.size() == 3);
  CHECK(c.byte_size() == walked_size(c));
}

TEST_CASE("a trimmed spare keeps no value the assigns dropped") {
  auto latest = snapshot::from_object({{"n", 2}, {"x", 1}});
  auto spare = latest.with("n", 1);
  std::weak_ptr<const boost::json::value> was{spare.find_ptr("n")};
  REQUIRE(snapshot::trim_spare(spare, latest));
  CHECK(was.expired()); // the replaced value is gone, not kept by the spare
}

TEST_CASE("a handed-over snapshot keeps a view that holds no reference") {
  auto a = snapshot::from_object({{"n", 1}});
  auto owner = a.hand_over();
  CHECK(a.same_as(owner));
  CHECK(owner.unshared());   // the only reference is the owner's
  CHECK_FALSE(a.unshared()); // a view is never changed in place
  auto copy = a;             // a copy of the view holds a reference
  CHECK_FALSE(owner.unshared());
  copy = snapshot{};
  CHECK(owner.unshared());
  // Changing the view makes a map of its own; the owner's stays as it was.
  a.set("n", 2);
  CHECK(owner.find("n")->as_int64() == 1);
  CHECK(a.find("n")->as_int64() == 2);
  CHECK(a.unshared());
  // A view that moves on takes a reference: it outlives the owner.
  auto b = snapshot::from_object({{"n", 3}});
  auto owner_b = b.hand_over();
  auto moved = std::move(b);
  CHECK_FALSE(owner_b.unshared());
  owner_b = snapshot{};
  CHECK(moved.find("n")->as_int64() == 3);
  CHECK(moved.unshared());
  // Handing over a view hands over a copy.
  auto c = snapshot::from_object({{"n", 4}});
  auto owner_c = c.hand_over();
  auto again = c.hand_over();
  CHECK(again.same_as(owner_c));
  again = snapshot{};
  CHECK(owner_c.unshared());
}
