// Fixed-bucket histograms as JSON.
#include <chanstate/registry/histogram.hpp>

#include <algorithm>
#include <utility>

#include <boost/json/array.hpp>

namespace chanstate {

histogram::histogram(std::vector<double> bounds, unit u)
  : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0), unit_(u) {
}

void histogram::observe(double value) {
  auto i = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[static_cast<std::size_t>(i - bounds_.begin())];
  sum_ += value;
  ++count_;
}

boost::json::object histogram::to_json() const {
  boost::json::array bounds(bounds_.begin(), bounds_.end());
  boost::json::array counts(counts_.begin(), counts_.end());
  bool secs = unit_ == unit::seconds;
  return {
    {secs ? "bounds_s" : "bounds", std::move(bounds)},
    {"counts", std::move(counts)},
    {secs ? "sum_s" : "sum", sum_},
  };
}

} // namespace chanstate
