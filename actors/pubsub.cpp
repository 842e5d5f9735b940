// Topic → subscribers; dead subscribers are pruned from down messages or by
// their own cleanup.
#include <chanstate/actors/pubsub.hpp>

#include <mutex>
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
// Channels subscribe and unsubscribe from their own threads (no message,
// no monitor per channel), so the table has a lock; broadcasts take it too.
class subscriber_table {
public:
  // Adds or moves `sub`; false if it already was on `topic`.
  bool add(std::string topic, caf::actor sub) {
    caf::actor moved; // released after the lock (see remove)
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = topic_of_.find(sub.address()); i != topic_of_.end()) {
      if (i->second.topic->first == topic)
        return false;
      moved = take(i);
    }
    auto& t = *topics_.try_emplace(std::move(topic)).first;
    topic_of_.emplace(sub.address(), place{&t, t.second.size()});
    t.second.push_back(std::move(sub));
    return true;
  }

  void remove(const caf::actor_addr& sub) {
    // Dropping the last handle of an actor may end it, and its cleanup may
    // call back into this table: release it only after the lock.
    caf::actor gone;
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = topic_of_.find(sub); i != topic_of_.end())
      gone = take(i);
  }

  template <class F>
  void for_each(const std::string& topic, F f) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = topics_.find(topic); i != topics_.end())
      for (const auto& sub : i->second)
        f(sub);
  }

private:
  using topic_map = std::unordered_map<std::string, std::vector<caf::actor>>;

  struct place {
    topic_map::value_type* topic; // map nodes never move
    std::size_t index;            // in topic->second
  };

  using place_map = std::unordered_map<caf::actor_addr, place>;

  // Takes `i`'s subscriber out of its topic (and returns it); drops the
  // topic if empty.
  caf::actor take(place_map::iterator i) {
    auto [t, index] = i->second;
    auto& subs = t->second;
    auto out = std::move(subs[index]);
    if (index + 1 != subs.size()) {
      subs[index] = std::move(subs.back());
      topic_of_.find(subs[index].address())->second.index = index;
    }
    subs.pop_back();
    if (subs.empty())
      topics_.erase(topics_.find(t->first)); // not erase(key): it is t's own
    topic_of_.erase(i);
    return out;
  }

  std::mutex mtx_;
  topic_map topics_;
  place_map topic_of_;
};

// Class-based so that the table is a member, not state: CAF destroys an
// actor's state when it terminates, but a member lives as long as the actor
// object, i.e. as long as any channel holds the handle it unsubscribes with.
class pubsub_actor : public caf::event_based_actor {
public:
  explicit pubsub_actor(caf::actor_config& cfg) : caf::event_based_actor(cfg) {
  }

  const char* name() const override {
    return "chanstate.pubsub";
  }

  subscriber_table table;

protected:
  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& dm) { table.remove(dm.source); });
    return {
      [this](caf::subscribe_atom, std::string& topic) {
        auto sub = caf::actor_cast<caf::actor>(current_sender());
        if (sub && table.add(std::move(topic), sub))
          monitor(sub); // a second monitor on a move is harmless
      },
      [this](caf::publish_atom, topic_broadcast& b,
             const caf::actor_addr& except) {
        table.for_each(b.topic, [&](const caf::actor& sub) {
          if (sub.address() != except)
            send(sub, b);
        });
      },
    };
  }
};

pubsub_actor* local_pubsub(const caf::actor& pubsub) {
  return dynamic_cast<pubsub_actor*>(
    caf::actor_cast<caf::abstract_actor*>(pubsub));
}

} // namespace

caf::actor spawn_pubsub(caf::actor_system& sys) {
  return sys.spawn<pubsub_actor>();
}

bool subscribe_channel(const caf::actor& pubsub, const std::string& topic,
                       const caf::actor& channel) {
  auto* p = local_pubsub(pubsub);
  if (!p || !channel)
    return false;
  p->table.add(topic, channel);
  return true;
}

void unsubscribe_channel(const caf::actor& pubsub,
                         const caf::actor_addr& channel) {
  if (auto* p = local_pubsub(pubsub))
    p->table.remove(channel);
}

} // namespace chanstate
