#include <chanstate/endpoint/join_limiter.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace chanstate {

join_limiter::join_limiter(join_rate_options opts) : opts_(opts) {
}

double join_limiter::refill(bucket& b, clock::time_point now) const {
  auto elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(static_cast<double>(opts_.burst),
                        b.tokens + elapsed * opts_.per_second);
    b.last = now;
  }
  return b.tokens;
}

join_admission join_limiter::admit(const std::string& client_id,
                                   clock::time_point now) {
  if (opts_.per_second <= 0)
    return {};
  std::lock_guard<std::mutex> guard{mtx_};
  auto [i, fresh] = buckets_.try_emplace(
    client_id, bucket{static_cast<double>(opts_.burst), now});
  auto& b = i->second;
  if (!fresh)
    refill(b, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    if (fresh && buckets_.size() >= next_sweep_)
      sweep(now);
    return {};
  }
  auto wait_s = (1 - b.tokens) / opts_.per_second;
  auto wait = std::chrono::milliseconds{
    static_cast<std::int64_t>(std::ceil(wait_s * 1000))};
  return {false, wait};
}

// Amortized: runs when the table has doubled since the last sweep.
void join_limiter::sweep(clock::time_point now) {
  for (auto i = buckets_.begin(); i != buckets_.end();) {
    if (refill(i->second, now) >= static_cast<double>(opts_.burst))
      i = buckets_.erase(i);
    else
      ++i;
  }
  next_sweep_ = std::max<std::size_t>(1024, 2 * buckets_.size());
}

std::size_t join_limiter::tracked_clients() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return buckets_.size();
}

} // namespace chanstate
