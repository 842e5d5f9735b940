// Topic → subscribers; dead subscribers are pruned from down messages.
#include <chanstate/actors/pubsub.hpp>

#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include <chanstate/actors/frames.hpp>

namespace chanstate {

namespace {

// Per subscriber one small node (topic_of) and one slot in its topic's
// vector; unsubscribing swaps the last slot into the gap, so it is O(1)
// however many share the topic. An unordered_set per topic would cost
// ~250 bytes more per subscriber (its bucket array, a node each), and every
// channel subscribes (README, "Memory per channel and per backup").
struct pubsub_state {
  static inline const char* name = "chanstate.pubsub";
  using topic_map = std::unordered_map<std::string, std::vector<caf::actor>>;
  struct place {
    topic_map::value_type* topic; // map nodes never move
    std::size_t index;            // in topic->second
  };
  topic_map topics;
  std::unordered_map<caf::actor_addr, place> topic_of;

  // Takes `i`'s subscriber out of its topic; drops the topic if empty.
  void remove(std::unordered_map<caf::actor_addr, place>::iterator i) {
    auto [t, index] = i->second;
    auto& subs = t->second;
    if (index + 1 != subs.size()) {
      subs[index] = std::move(subs.back());
      topic_of.find(subs[index].address())->second.index = index;
    }
    subs.pop_back();
    if (subs.empty())
      topics.erase(topics.find(t->first)); // not erase(key): it is t's own
    topic_of.erase(i);
  }
};

caf::behavior pubsub_impl(caf::stateful_actor<pubsub_state>* self) {
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (auto i = st.topic_of.find(dm.source); i != st.topic_of.end())
      st.remove(i);
  });
  return {
    [self](caf::subscribe_atom, std::string& topic) {
      auto sub = caf::actor_cast<caf::actor>(self->current_sender());
      if (!sub)
        return;
      auto& st = self->state;
      // One topic per subscriber: a second subscribe moves it.
      if (auto i = st.topic_of.find(sub.address()); i != st.topic_of.end()) {
        if (i->second.topic->first == topic)
          return;
        st.remove(i);
      } else {
        self->monitor(sub);
      }
      auto& t = *st.topics.try_emplace(std::move(topic)).first;
      st.topic_of.emplace(sub.address(),
                          pubsub_state::place{&t, t.second.size()});
      t.second.push_back(std::move(sub));
    },
    [self](caf::publish_atom, topic_broadcast& b,
           const caf::actor_addr& except) {
      auto i = self->state.topics.find(b.topic);
      if (i == self->state.topics.end())
        return;
      for (const auto& sub : i->second)
        if (sub.address() != except)
          self->send(sub, b);
    },
  };
}

} // namespace

caf::actor spawn_pubsub(caf::actor_system& sys) {
  return sys.spawn(pubsub_impl);
}

} // namespace chanstate
