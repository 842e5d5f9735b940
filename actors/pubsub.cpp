// Topic → subscribers; dead subscribers are pruned from down messages.
#include <chanstate/actors/pubsub.hpp>

#include <string>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include <chanstate/actors/frames.hpp>

namespace chanstate {

namespace {

struct pubsub_state {
  static inline const char* name = "chanstate.pubsub";
  std::unordered_map<std::string, std::unordered_set<caf::actor>> topics;
  std::unordered_map<caf::actor_addr, std::string> topic_of;
};

caf::behavior pubsub_impl(caf::stateful_actor<pubsub_state>* self) {
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.topic_of.find(dm.source);
    if (i == st.topic_of.end())
      return;
    auto t = st.topics.find(i->second);
    if (t != st.topics.end()) {
      for (auto s = t->second.begin(); s != t->second.end(); ++s)
        if (s->address() == dm.source) {
          t->second.erase(s);
          break;
        }
      if (t->second.empty())
        st.topics.erase(t);
    }
    st.topic_of.erase(i);
  });
  return {
    [self](caf::subscribe_atom, std::string& topic) {
      auto sub = caf::actor_cast<caf::actor>(self->current_sender());
      if (!sub)
        return;
      self->monitor(sub);
      self->state.topic_of[sub.address()] = topic;
      self->state.topics[std::move(topic)].insert(std::move(sub));
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
