// Snapshots share unchanged values and never change after publication.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "registry/snapshot.hpp"

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
