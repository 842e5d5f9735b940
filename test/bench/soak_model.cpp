// The soak model's check: own values against acknowledged and sent adds.
#include "test/bench/soak_model.hpp"

#include <algorithm>
#include <unordered_set>

namespace chanstate::bench {

namespace {

constexpr std::int64_t stride = 1'000'000'000;

bool starts_with(const std::vector<std::int64_t>& xs,
                 const std::vector<std::int64_t>& prefix) {
  return prefix.size() <= xs.size()
         && std::equal(prefix.begin(), prefix.end(), xs.begin());
}

} // namespace

std::int64_t soak_value(int client, std::int64_t seq) {
  return (static_cast<std::int64_t>(client) + 1) * stride + seq;
}

int soak_owner(std::int64_t value) {
  if (value < stride)
    return -1;
  return static_cast<int>(value / stride - 1);
}

soak_verdict soak_check(int client, const boost::json::array& observed,
                        const std::vector<std::int64_t>& acked,
                        const std::vector<std::int64_t>& sent,
                        soak_expect how, std::vector<std::int64_t>& own) {
  soak_verdict v;
  own.clear();
  for (const auto& x : observed) {
    std::int64_t n = 0;
    if (x.is_int64())
      n = x.get_int64();
    else if (x.is_uint64() && x.get_uint64() <= INT64_MAX)
      n = static_cast<std::int64_t>(x.get_uint64());
    else {
      v.mismatched = 1;
      continue;
    }
    if (soak_owner(n) != client)
      ++v.leaked;
    else
      own.push_back(n);
  }
  if (how == soak_expect::unknown)
    return v;
  if (how == soak_expect::fresh) {
    if (!own.empty())
      v.stale = 1;
    return v;
  }
  auto target = acked;
  target.insert(target.end(), sent.begin(), sent.end());
  if (own == target)
    return v;
  if (how == soak_expect::prefix && own.size() >= acked.size()
      && starts_with(target, own))
    return v;
  // What had to be there: everything sent before a crash was handled (one
  // connection is ordered), but only the acknowledged part after a drop.
  const auto& required = how == soak_expect::exact ? target : acked;
  if (own.size() < required.size() && starts_with(required, own)) {
    if (own.empty())
      v.lost = static_cast<std::int64_t>(required.size());
    else
      v.stale = 1;
    return v;
  }
  std::unordered_set<std::int64_t> have(own.begin(), own.end());
  for (auto x : required)
    if (!have.count(x))
      ++v.lost;
  if (v.lost == 0 || own.size() != have.size()
      || std::any_of(own.begin(), own.end(), [&](std::int64_t x) {
           return std::find(target.begin(), target.end(), x) == target.end();
         }))
    v.mismatched = 1;
  return v;
}

} // namespace chanstate::bench
