// Per-topic broadcast between channels (Phoenix.PubSub, local).
#pragma once

#include <string_view>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

namespace chanstate {

/// Messages:
/// - (subscribe_atom, topic): the sender receives every topic_broadcast of
///   that topic until it dies (the pubsub monitors and prunes it); a second
///   subscribe moves it to the new topic.
/// - (publish_atom, topic_broadcast, actor_addr except): delivers the
///   broadcast to every subscriber of its topic but `except` (may be empty).
/// A channel subscribes without a message or a monitor: see
/// topic_subscription.
caf::actor spawn_pubsub(caf::actor_system& sys);

namespace detail {
struct pubsub_topic;
} // namespace detail

/// One subscriber's place in its topic, kept inside the subscriber (a
/// channel's state): subscribing allocates nothing per subscriber, and the
/// subscription ends when this object does, which for a channel's state is
/// on every exit, kill included. So no monitor is needed and nothing is
/// left behind (README, "Memory per channel and per backup").
/// Thread-safe against publishes; one owner calls subscribe and cancel.
class topic_subscription {
public:
  topic_subscription() = default;
  topic_subscription(const topic_subscription&) = delete;
  topic_subscription& operator=(const topic_subscription&) = delete;

  ~topic_subscription() {
    cancel();
  }

  /// `who` receives every topic_broadcast of `topic` published on `pubsub`
  /// until cancel() or the end of this object; a subscription to another
  /// topic is moved. False (nothing done) if `pubsub` is not a local
  /// pubsub of spawn_pubsub: then subscribe by message.
  bool subscribe(const caf::actor& pubsub, caf::actor_addr who,
                 std::string_view topic);

  /// Ends the subscription (nothing if there is none).
  void cancel();

  /// True while subscribed.
  bool active() const noexcept {
    return topic_ != nullptr;
  }

private:
  friend struct detail::pubsub_topic;
  topic_subscription* prev_ = nullptr;
  topic_subscription* next_ = nullptr;
  detail::pubsub_topic* topic_ = nullptr;
  caf::actor_addr who_;
};

} // namespace chanstate
