// The per-client state a channel handler sees: Phoenix's socket.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <vector>

#include <chanstate/actors/commit_sink.hpp>
#include <chanstate/actors/frames.hpp>
#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/snapshot.hpp>

namespace chanstate {

class outbound_gate;

namespace channel_parts {
struct channel_state;
} // namespace channel_parts

/// Topic, client id, join ref and assigns of one channel, plus the ways a
/// handler talks to its client. Assigns are immutable JSON values shared by
/// pointer: `assign` replaces one key's value, so a commit never copies the
/// values that did not change.
class socket {
public:
  /// A socket that keeps its own topic and client id (outside a channel
  /// actor, e.g. to drive a channel's handlers directly).
  socket(std::string topic, std::string client_id, std::string join_ref,
         snapshot assigns, bool restored, std::string restore_note,
         std::size_t fallback_generation = 0,
         std::shared_ptr<const boost::json::object> claims = nullptr);

  /// A channel actor's socket: it starts from `sink`'s state, commits into
  /// it, and takes topic and client id from the sink's key, so an idle
  /// channel holds its key once (README, "Memory per channel and per
  /// backup").
  socket(commit_sink sink, std::string join_ref, bool restored,
         std::string restore_note, std::size_t fallback_generation = 0,
         std::shared_ptr<const boost::json::object> claims = nullptr);

  const std::string& topic() const noexcept {
    return key().topic;
  }

  const std::string& client_id() const noexcept {
    return key().client_id;
  }

  /// The verified token's claims (sub, exp, and whatever the issuer put
  /// in, e.g. "topics"); empty when the node runs without token secrets.
  /// A join can authorize its topic with them.
  const boost::json::object& claims() const noexcept;

  const std::string& join_ref() const noexcept {
    return join_ref_;
  }

  /// True if this channel started from saved assigns.
  bool restored() const noexcept {
    return restored_;
  }

  /// Why nothing was restored although something had been saved (a state
  /// the poison guard quarantined), else empty.
  const std::string& restore_note() const noexcept;

  /// 0 when restored from the last commit; n when the n newest saved
  /// generations were skipped because they crashed the channel.
  std::size_t fallback_generation() const noexcept {
    return extras_ ? extras_->fallback_generation : 0;
  }

  /// The assign under `key`, or nullptr.
  const boost::json::value* get(std::string_view key) const noexcept {
    return assigns_.find(key);
  }

  /// Sets one assign; committed when the handler returns.
  void assign(std::string key, boost::json::value value);

  /// Removes one assign; committed when the handler returns.
  void unassign(std::string_view key);

  /// All assigns as one JSON object (a copy: for replies and debugging).
  boost::json::object assigns_object() const {
    return assigns_.to_object();
  }

  const snapshot& assigns() const noexcept {
    return assigns_;
  }

  /// Pushes an event to this channel's client: [JR, null, topic, event, p].
  /// A push made inside join goes out right after the join reply.
  void push(std::string event, boost::json::object payload);

  /// Broadcasts to every channel subscribed to this topic, this one included.
  void broadcast(std::string event, boost::json::object payload);

  /// Broadcasts to every other channel subscribed to this topic.
  void broadcast_from(std::string event, boost::json::object payload);

private:
  friend class channel_runtime;
  friend struct channel_parts::channel_state;

  // A channel's socket before its join: no key, no state yet.
  socket() = default;

  const backup_key& key() const noexcept {
    return extras_ && extras_->own_key ? *extras_->own_key : sink_.key();
  }

  // Where commits go; its key is this socket's (unless extras_ has one).
  commit_sink sink_;
  std::string join_ref_;
  snapshot assigns_;
  // What few channels have (a restore note, a fallback, token claims,
  // pushes made inside join, a key of its own): behind one pointer, null
  // when all are empty, so an idle channel's state does not carry them
  // (README, "Memory per channel and per backup").
  struct extras {
    std::string restore_note;
    std::size_t fallback_generation = 0;
    std::shared_ptr<const boost::json::object> claims;
    // Only a socket made outside a channel actor has a key of its own.
    std::unique_ptr<const backup_key> own_key;
    // Pushes made inside join, sent after the join reply; null until one is.
    std::unique_ptr<std::vector<outbound_frame>> held;

    bool empty() const noexcept {
      return restore_note.empty() && fallback_generation == 0 && !claims
             && !own_key && !held;
    }
  };
  std::unique_ptr<extras> extras_;
  // The channel's (its actor is gate_->self()): pushes wait for
  // durability.
  outbound_gate* gate_ = nullptr;
  caf::actor pubsub_;
  bool restored_ = false;
  bool dirty_ = false;
  bool holding_ = true; // until the join reply is out
};

} // namespace chanstate
