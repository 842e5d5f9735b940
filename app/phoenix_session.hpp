// One WebSocket connection's Phoenix socket: Phoenix's socket rules (join,
// leave, duplicate joins, refs) between decoded frames and channel actors.
//
//   open ──frames──▶ open ──end(clean | lost | shutdown)──▶ ended
//
// Not thread-safe: the connection calls every member on its io thread. No
// Asio and no Beast in here; the connection supplies a function that queues
// one text frame for writing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>

#include <chanstate/actors/channel_link.hpp>
#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/endpoint/join_limiter.hpp>
#include <chanstate/endpoint/transport_counters.hpp>
#include <chanstate/endpoint/wire_codec.hpp>

namespace chanstate {

/// How the transport under a session ended, as the exit matrix sees it.
enum class transport_end : std::uint8_t {
  clean,    // the client closed: channels end normally, backups dropped
  lost,     // dropped, idle, refused input: channels end transport_lost, kept
  shutdown, // the node stops: channels end user_shutdown, backups dropped
};

/// A close the session asks for: a WebSocket close code and its reason.
struct protocol_close {
  std::uint16_t code;
  std::string reason;
};

/// The Phoenix socket of one connection.
class phoenix_session {
public:
  /// Writes one text frame to the client (called on the connection's
  /// thread, in order).
  using send_fn = std::function<void(std::string)>;

  /// A session of `client_id` (with its token's `claims`, if any) whose
  /// channels join through `env` and answer through `bridge`; `joins` and
  /// `counters` are the node's, shared by every connection.
  phoenix_session(caf::actor_system& sys, const channel_env& env,
                  std::string client_id, caf::actor bridge,
                  std::size_t max_channels, join_limiter& joins,
                  transport_counters& counters, send_fn send,
                  std::shared_ptr<const boost::json::object> claims = nullptr);

  /// Ends the session as a lost transport unless end() already ran.
  ~phoenix_session();

  /// Not copyable: it owns its channels.
  phoenix_session(const phoenix_session&) = delete;
  phoenix_session& operator=(const phoenix_session&) = delete;

  /// Handles one text frame; a result asks the connection to close.
  std::optional<protocol_close> on_text(std::string_view text);

  /// A frame a channel sent (via the bridge).
  void on_channel_frame(const caf::actor_addr& from, outbound_frame f);

  /// A channel this session joined went down.
  void on_channel_down(const caf::actor_addr& channel,
                       const caf::error& reason);

  /// Ends every channel as `how` says and retires the bridge. Idempotent;
  /// frames arriving afterwards are dropped (and counted).
  void end(transport_end how);

  /// True once end() ran.
  bool ended() const noexcept {
    return ended_;
  }

private:
  struct channel_entry {
    caf::actor handle;
    channel_link link;
    std::string join_msg_ref; // the phx_join's ref, echoed in its reply
    bool leaving = false;
    // For the restore latency (join frame → join reply) in /metrics.
    std::chrono::steady_clock::time_point join_started
      = std::chrono::steady_clock::now();
  };

  // A channel replaced by a duplicate join on this socket: its phx_close
  // goes out right after the reply to the join that replaced it.
  struct replaced_channel {
    caf::actor handle;
    channel_link link;
    std::string new_join_ref;
  };

  void dispatch(decoded_frame& d);
  void replay_held();
  void handle_join(inbound_frame& fr);
  void handle_leave(const inbound_frame& fr);
  void handle_push(inbound_frame& fr);
  void after_join_reply(const std::string& topic, const std::string& jr);
  void send_frame(const outbound_frame& f);
  void reply(const std::string& join_ref, const std::string& ref,
             const std::string& topic, const char* status,
             boost::json::object response);
  std::vector<channel_entry>::iterator by_topic(const std::string& topic);
  channel_entry* find(const caf::actor_addr& addr);

  caf::actor_system& sys_;
  const channel_env& env_;
  std::string client_id_;
  caf::actor bridge_;
  std::size_t max_channels_;
  join_limiter& joins_;
  transport_counters& counters_;
  send_fn send_;
  std::shared_ptr<const boost::json::object> claims_; // the token's, or null
  std::vector<channel_entry> channels_; // at most max_channels_, by topic
  std::vector<replaced_channel> replaced_;
  // A join for a topic whose channel is still leaving waits for that
  // channel's down, and every frame after it waits too (frames of one
  // connection are handled in order). Otherwise the registry would see the
  // old channel live and hand the state the client just left to the new join.
  caf::actor_addr waiting_for_;
  std::vector<decoded_frame> held_;
  bool ended_ = false;
};

} // namespace chanstate
