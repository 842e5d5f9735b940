// Topic → subscribers, in a table the subscribers join and leave themselves.
#include <chanstate/actors/pubsub.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include <chanstate/actors/frames.hpp>

namespace chanstate {

namespace {

// A topic of one pubsub: tables of pubsubs of different actor systems in
// one process share the stripes below, so the key names the pubsub.
// The key carries its hash: the stripe and the map both need it, and a
// subscribe, a cancel and a publish would each hash the name twice.
struct topic_key {
  std::uint64_t owner;
  std::string name;
  std::size_t hash;

  topic_key(std::uint64_t owner, std::string name)
    : owner(owner), name(std::move(name)),
      hash(std::hash<std::string>{}(this->name)
           ^ (owner * 0x9e3779b97f4a7c15ULL)) {
  }

  friend bool operator==(const topic_key& x, const topic_key& y) {
    return x.hash == y.hash && x.owner == y.owner && x.name == y.name;
  }
};

struct topic_key_hash {
  std::size_t operator()(const topic_key& x) const noexcept {
    return x.hash;
  }
};

} // namespace

namespace detail {

// A topic's subscribers, as a list threaded through their
// topic_subscription objects: a subscriber costs no allocation here, and
// leaving is O(1) however many share the topic. The topic itself is one
// map node, dropped with its last subscriber.
struct pubsub_topic {
  topic_subscription* head = nullptr;
  const topic_key* key = nullptr; // the map node's own key

  void link(topic_subscription* s) noexcept {
    s->topic_ = this;
    s->prev_ = nullptr;
    s->next_ = head;
    if (head)
      head->prev_ = s;
    head = s;
  }

  void unlink(topic_subscription* s) noexcept {
    if (s->prev_)
      s->prev_->next_ = s->next_;
    else
      head = s->next_;
    if (s->next_)
      s->next_->prev_ = s->prev_;
    s->prev_ = s->next_ = nullptr;
    s->topic_ = nullptr;
  }

  template <class F>
  void for_each(F f) const {
    for (auto* s = head; s != nullptr; s = s->next_)
      f(s->who_);
  }
};

} // namespace detail

namespace {

// Striped like transport_watch: subscribers of different topics rarely
// share a lock, and each critical section is one link, unlink or walk.
struct stripe {
  std::mutex mtx;
  std::unordered_map<topic_key, detail::pubsub_topic, topic_key_hash> topics;
};

constexpr std::size_t stripe_count = 64;

// Never destroyed: a subscription may end during static destruction of a
// process that did not stop its actors.
std::array<stripe, stripe_count>& stripes() {
  static auto* s = new std::array<stripe, stripe_count>;
  return *s;
}

stripe& stripe_of(const topic_key& key) {
  return stripes()[key.hash % stripe_count];
}

std::uint64_t next_table_id() {
  static std::atomic<std::uint64_t> next{0};
  return ++next;
}

// Class-based (not stateful): a channel reaches the table id through its
// handle to the pubsub (topic_subscription::subscribe), and a class-based
// actor's members live as long as a handle does.
// Final: subscribe recognises it by its exact type (see there).
class pubsub_actor final : public caf::event_based_actor {
public:
  explicit pubsub_actor(caf::actor_config& cfg)
    : caf::event_based_actor(cfg), id_(next_table_id()) {
  }

  const char* name() const override {
    return "chanstate.pubsub";
  }

  std::uint64_t table_id() const noexcept {
    return id_;
  }

  void on_exit() override {
    others_.clear();
  }

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& dm) { others_.erase(dm.source); });
    return {
      // Any actor but a channel (those subscribe through the table): its
      // subscription lives here, and a monitor ends it.
      [this](caf::subscribe_atom, std::string& topic) {
        auto sub = caf::actor_cast<caf::actor>(current_sender());
        if (!sub)
          return;
        auto& slot = others_[sub.address()];
        if (!slot) {
          slot = std::make_unique<topic_subscription>();
          monitor(sub);
        }
        slot->subscribe(caf::actor_cast<caf::actor>(this), sub.address(),
                        topic);
      },
      [this](caf::publish_atom, topic_broadcast& b,
             const caf::actor_addr& except) {
        topic_key key{id_, std::move(b.topic)};
        {
          auto& s = stripe_of(key);
          std::lock_guard<std::mutex> guard{s.mtx};
          auto i = s.topics.find(key);
          if (i == s.topics.end())
            return;
          // Strong handles taken under the lock: a subscriber that is
          // ending is either still listed (and its handle upgrades or is
          // null) or already gone from the list.
          i->second.for_each([&](const caf::actor_addr& who) {
            if (who != except)
              if (auto a = caf::actor_cast<caf::actor>(who))
                scratch_.push_back(std::move(a));
          });
        }
        b.topic = std::move(key.name);
        for (auto& a : scratch_)
          send(a, b);
        scratch_.clear();
      },
    };
  }

private:
  std::uint64_t id_;
  std::unordered_map<caf::actor_addr, std::unique_ptr<topic_subscription>>
    others_;
  std::vector<caf::actor> scratch_; // publish's recipients, reused
};

} // namespace

bool topic_subscription::subscribe(const caf::actor& pubsub,
                                   caf::actor_addr who,
                                   std::string_view topic) {
  // The exact type, not dynamic_cast: that walks CAF's deep actor class
  // hierarchy on every join (a crash storm rejoins a million channels),
  // and pubsub_actor is final, so the two answer alike.
  auto* a = caf::actor_cast<caf::abstract_actor*>(pubsub);
  if (a == nullptr || typeid(*a) != typeid(pubsub_actor))
    return false;
  auto* p = static_cast<pubsub_actor*>(a);
  if (topic_ != nullptr && topic_->key->owner == p->table_id()
      && topic_->key->name == topic && who_ == who)
    return true;
  cancel();
  who_ = std::move(who);
  topic_key key{p->table_id(), std::string{topic}};
  auto& s = stripe_of(key);
  std::lock_guard<std::mutex> guard{s.mtx};
  auto i = s.topics.try_emplace(std::move(key)).first;
  i->second.key = &i->first;
  i->second.link(this);
  return true;
}

void topic_subscription::cancel() {
  if (topic_ == nullptr)
    return;
  // The topic outlives our place in it, and its key never changes.
  auto& s = stripe_of(*topic_->key);
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    auto* t = topic_;
    t->unlink(this);
    if (t->head == nullptr)
      s.topics.erase(s.topics.find(*t->key)); // not erase(key): it is t's own
  }
  who_ = caf::actor_addr{};
}

caf::actor spawn_pubsub(caf::actor_system& sys) {
  return sys.spawn<pubsub_actor>();
}

} // namespace chanstate
