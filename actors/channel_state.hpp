// The channel actor's state and the steps its files share (internal: only
// channel_actor.cpp, channel_serve.cpp and channel_end.cpp include it).
//
//   channel_actor.cpp  spawn, the restore request, durability set-up
//   channel_serve.cpp  start serving, the handlers, commit after each one
//   channel_end.cpp    refusing a join, ending, the clean end's linger
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/ref_counted.hpp>
#include <caf/stateful_actor.hpp>

#include <chanstate/actors/channel.hpp>
#include <chanstate/actors/commit_sink.hpp>
#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/actors/outbound_gate.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/actors/socket.hpp>
#include <chanstate/actors/transport_watch.hpp>
#include <chanstate/registry/limit_counters.hpp>
#include <chanstate/registry/registry_actor.hpp>

namespace chanstate {

/// The socket's private side: only the runtime commits and routes frames.
class channel_runtime {
public:
  static void bind(socket& s, outbound_gate& gate, caf::actor pubsub) {
    s.gate_ = &gate;
    s.pubsub_ = std::move(pubsub);
  }

  /// Sends what join pushed, now that the join reply is out.
  static void release_held(socket& s) {
    s.holding_ = false;
    if (!s.extras_ || !s.extras_->held)
      return;
    for (auto& f : *s.extras_->held)
      s.gate_->send(std::move(f));
    s.extras_->held.reset();
    if (s.extras_->empty())
      s.extras_.reset();
  }

  /// Where the socket's commits go.
  static commit_sink& sink(socket& s) noexcept {
    return s.sink_;
  }

  /// Gives the socket a key of its own (a sink whose key is not the
  /// join's: only a registry that does not say which key it answered).
  static void own_key(socket& s, backup_key key) {
    if (!s.extras_)
      s.extras_ = std::make_unique<socket::extras>();
    s.extras_->own_key = std::make_unique<const backup_key>(std::move(key));
  }

  /// True once the socket was made for the join (the registry answered).
  static bool joined(const socket& s) noexcept {
    return !s.key().topic.empty();
  }

  /// Publishes the assigns if the last handler changed them. Assigns over
  /// `limit` bytes (0 = no limit) are refused: nothing is published, the
  /// socket goes back to its last published state, and their size is
  /// returned. O(keys) like the commit itself: byte_size() is a running
  /// total. (With write-through off nothing is published, so a refused
  /// commit goes back to the state the channel started from.)
  static std::optional<std::size_t>
  commit(socket& s, outbound_gate& gate, bool write_through,
         std::size_t limit) {
    if (!s.dirty_)
      return std::nullopt;
    s.dirty_ = false;
    if (limit != 0) {
      if (auto size = s.assigns_.byte_size(); size > limit) {
        s.assigns_ = s.sink_.initial();
        return size;
      }
    }
    if (write_through)
      s.sink_.publish(s.assigns_, gate);
    return std::nullopt;
  }
};

namespace channel_parts {

/// What every channel of a node shares about its commits, once per node
/// instead of once per channel (channel_limits_for).
struct channel_limits : caf::ref_counted {
  channel_limits(std::shared_ptr<limit_counters> counters,
                 std::size_t max_assigns_bytes, bool write_through)
    : counters(std::move(counters)),
      max_assigns_bytes(max_assigns_bytes),
      write_through(write_through) {
  }
  const std::shared_ptr<limit_counters> counters;
  const std::size_t max_assigns_bytes;
  const bool write_through;
};

using channel_limits_ptr = caf::intrusive_ptr<const channel_limits>;

/// The limits of `env`: the object the last call on this thread returned
/// when its values are the same (so channels of one node share one), a new
/// one otherwise.
channel_limits_ptr channel_limits_for(const channel_env& env);

// One per channel, inside the CAF actor's own allocation: every byte here
// is a byte per idle channel (README, "Memory per channel and per
// backup"). What only some channels need sits behind a pointer in its part
// (the gate's hold queue, a remote sink, the socket's extras).
struct channel_state {
  static inline const char* name = "chanstate.channel";
  // The transport watch ends with the state: CAF 0.17 destroys an actor's
  // state when it terminates (kill included), so no functor is attached
  // per channel for it.
  ~channel_state() {
    if (watching)
      unwatch_transport(gate.self(), gate.transport());
  }
  std::unique_ptr<channel> impl;
  // Made for the join once the registry answered (channel_runtime::joined);
  // it holds the commit sink and borrows the key from it.
  socket sock;
  // Every frame to the client goes through it (durable acknowledgements);
  // it holds the transport.
  outbound_gate gate;
  // Shared with the node's other channels: 8 bytes here, not 32.
  channel_limits_ptr limits;
  bool journaled = false; // the gate asks a journal writer for durability
  bool join_replied = false;
  bool watching = false; // watch_transport ran
  // The channel's place in its topic's subscribers: ends with the state,
  // so pubsub needs no monitor and no message per join.
  topic_subscription subscription;
};

using channel_ptr = caf::stateful_actor<channel_state>*;

// Replies, pushes and broadcasts: after a commit they wait until it is
// durable (outbound_gate).
inline void send_frame(channel_ptr self, outbound_frame f) {
  self->state.gate.send(std::move(f));
}

// channel_end.cpp

/// A refused or crashed join's reply: it acknowledges nothing and goes out
/// at once.
void send_join_error(channel_ptr self, outbound_frame f);

/// Replies to the join with an error and ends the channel (join_refused).
void refuse_join(channel_ptr self, const join_request& req,
                 boost::json::object response);

/// The same for a join whose request is no longer at hand.
void refuse_join(channel_ptr self, const std::string& join_ref,
                 const std::string& topic, boost::json::object response);

/// Runs terminate and ends the channel; `last` is its last frame.
void end_channel(channel_ptr self, caf::error reason,
                 std::optional<outbound_frame> last = std::nullopt);

// channel_serve.cpp

/// Commits after a handler; the error payload if the commit was refused.
std::optional<boost::json::object> commit(channel_ptr self);

/// Builds the socket, runs join, replies and starts serving.
void start_serving(channel_ptr self, const join_request& req,
                   const channel_env& env, commit_sink sink, bool restored,
                   std::string note, std::size_t fallback);

} // namespace channel_parts

} // namespace chanstate
