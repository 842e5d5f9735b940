// Joining a topic: spawn-on-rejoin, the one entry point transports use.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/json/object.hpp>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <chanstate/actors/router.hpp>
#include <chanstate/registry/limit_counters.hpp>
#include <chanstate/registry/registry_actor.hpp>

namespace chanstate {

class journal_waiter;

/// When a client sees a commit acknowledged (README, "Acknowledged means
/// durable").
enum class ack_mode : std::uint8_t {
  /// A frame that follows a commit leaves once the commit is durable: in the
  /// journal (`journal`), or acknowledged by a registry on another node.
  durable,
  /// Frames leave at once; the journal or remote registry catches up later
  /// (a crash of the process in between loses what the client saw).
  async,
};

/// What every channel of a node shares.
struct channel_env {
  registry_actor registry;
  caf::actor pubsub;
  std::shared_ptr<const router> routes;
  /// How long a joining channel waits for the registry before it refuses.
  std::chrono::milliseconds restore_timeout = std::chrono::seconds{10};
  /// Off only to measure what write-through costs (chanstate-bench steady):
  /// nothing is published then, so a crash loses what the channel had, and
  /// a commit refused for its size goes back to the state it joined with.
  bool write_through = true;
  /// Largest estimated size (snapshot::byte_size) of one channel's
  /// assigns. A commit over it is refused: nothing is published, the
  /// assigns go back to the last commit and the client gets an error with
  /// reason "assigns_too_large". 0 = no limit. The default, 1 MiB, is the
  /// default largest frame: far above what a session's state needs, and a
  /// 256th of the default backup bytes cap, so one client cannot crowd out
  /// the others' backups.
  std::size_t max_assigns_bytes = std::size_t{1} << 20;
  /// Where refused commits are counted (a backup_table's limits(), shown in
  /// /stats); null counts nothing.
  std::shared_ptr<limit_counters> counters = nullptr;
  /// True when `registry` stands for a registry on another node (a
  /// registry_link): assigns then travel as JSON and commits as deltas.
  /// A direct handle to a remote registry is detected without it.
  bool remote_registry = false;
  /// See ack_mode; only matters with a journal or a remote registry.
  ack_mode ack = ack_mode::durable;
  /// The journal of the local registry's table (spawn_journal's waiter):
  /// held frames leave once it holds their commits; null = no journal.
  std::shared_ptr<journal_waiter> journal = nullptr;
};

/// One client's join of one topic.
struct join_request {
  std::string topic;
  std::string client_id;
  std::string join_ref;
  boost::json::object params;
  /// Receives the channel's outbound_frame messages; the channel monitors it
  /// and ends with transport_lost if it dies without closing.
  caf::actor transport;
  /// The connect's verified token claims (socket::claims()); null without.
  std::shared_ptr<const boost::json::object> claims = nullptr;
};

/// Spawns the channel for `req`. Before it serves anything the channel asks
/// the registry for the key's backup; client events sent to it meanwhile are
/// held and handled afterwards, in order. The join reply arrives at the
/// transport as an outbound_frame (join_ok or join_error).
/// Fails with channel_error for an empty topic or client id or an unmatched
/// topic; nothing is spawned then.
caf::expected<caf::actor> join_channel(caf::actor_system& sys,
                                       const channel_env& env,
                                       join_request req);

} // namespace chanstate
