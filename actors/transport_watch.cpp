// One attached functor per transport instead of one monitor per channel.
#include <chanstate/actors/transport_watch.hpp>

#include <array>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/all.hpp>

namespace chanstate {

namespace {

using channel_set = std::unordered_set<caf::actor_addr>;

// Striped so that channels of different transports rarely share a lock; the
// channels of one transport share one stripe, which is a short critical
// section (one hash insert or erase).
// Keyed by the transport's control block, not its address: making an
// actor_addr counts a (weak) reference on the transport, a count all of its
// channels share, so every join and every end of a channel would write one
// cache line the other worker's channels write too. The raw pointer stays
// unique while its entry exists: the entry goes in the transport's cleanup,
// before the block can be freed.
using transport_key = const caf::actor_control_block*;

struct stripe {
  std::mutex mtx;
  std::unordered_map<transport_key, channel_set> channels;
};

constexpr std::size_t stripe_count = 64;

// Never destroyed: functors attached to transports may run during static
// destruction of a process that did not stop its actors.
std::array<stripe, stripe_count>& stripes() {
  static auto* s = new std::array<stripe, stripe_count>;
  return *s;
}

stripe& stripe_of(transport_key transport) {
  return stripes()[transport->id() % stripe_count];
}

template <class Handle>
transport_key key_of(const Handle& transport) {
  return caf::actor_cast<caf::actor_control_block*>(transport);
}

// Runs once, in the transport's cleanup (or at once if it had ended).
void transport_ended(const caf::actor_addr& transport,
                     const caf::error& reason) {
  channel_set watched;
  {
    auto key = key_of(transport);
    auto& s = stripe_of(key);
    std::lock_guard<std::mutex> guard{s.mtx};
    auto i = s.channels.find(key);
    if (i == s.channels.end())
      return;
    watched = std::move(i->second);
    s.channels.erase(i);
  }
  for (auto& addr : watched)
    if (auto ch = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(ch, caf::down_msg{transport, reason});
}

} // namespace

void watch_transport(caf::local_actor* channel, const caf::actor& transport) {
  if (transport.node() != channel->node()) {
    channel->monitor(transport);
    return;
  }
  auto key = key_of(transport);
  bool first = false;
  {
    auto& s = stripe_of(key);
    std::lock_guard<std::mutex> guard{s.mtx};
    auto [i, added] = s.channels.try_emplace(key);
    first = added;
    i->second.insert(channel->address());
  }
  // Outside the lock: on an ended transport the functor runs right here.
  // A second watch racing with this one finds the entry and joins the set;
  // the functor, attached or run, serves both.
  if (first)
    transport->attach_functor(
      [addr = transport.address()](const caf::error& reason) {
        transport_ended(addr, reason);
      });
}

void unwatch_transport(caf::local_actor* channel, const caf::actor& transport) {
  if (transport.node() != channel->node()) {
    channel->demonitor(transport);
    return;
  }
  auto key = key_of(transport);
  auto self = channel->address();
  // The entry itself stays until the transport ends: it is one per
  // transport, and its functor is already attached.
  auto& s = stripe_of(key);
  std::lock_guard<std::mutex> guard{s.mtx};
  if (auto i = s.channels.find(key); i != s.channels.end())
    i->second.erase(self);
}

std::size_t watched_channels(const caf::actor_addr& transport) {
  auto key = key_of(transport);
  if (key == nullptr)
    return 0;
  auto& s = stripe_of(key);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.channels.find(key);
  return i == s.channels.end() ? 0 : i->second.size();
}

} // namespace chanstate
