// Fixed-bucket histograms for the figures /stats and /metrics show.
#pragma once

#include <cstdint>
#include <vector>

#include <boost/json/object.hpp>

namespace chanstate {

/// Observations in fixed buckets (Prometheus semantics: one count per
/// bucket, not cumulative, the last bucket past every bound). Not
/// thread-safe: its owner serialises access (an actor, or a lock).
class histogram {
public:
  /// What the values measure: seconds get "bounds_s"/"sum_s" in to_json(),
  /// plain counts "bounds"/"sum".
  enum class unit { seconds, count };

  /// `bounds`: ascending upper bounds of the buckets.
  histogram(std::vector<double> bounds, unit u);

  /// Counts `value` in the first bucket whose bound is >= it.
  void observe(double value);

  /// Observations so far.
  std::uint64_t count() const noexcept {
    return count_;
  }

  /// {"bounds_s": [...], "counts": [...], "sum_s": x} (or "bounds"/"sum"
  /// for counts): what the endpoint's /metrics turns into a histogram.
  boost::json::object to_json() const;

private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
  unit unit_;
};

} // namespace chanstate
