// A deterministic test bench for channels: join, push, crash, rejoin.
//
// Header-only and independent of any test framework. Everything runs on
// CAF's test_coordinator: nothing happens until the bench runs the
// scheduler, time is virtual (advance() moves it), and no helper sleeps.
//
//   chanstate::testing::channel_case t;             // registry, pubsub, router
//   t.route("room:*", my_channel_factory());        // any channel you wrote
//   auto ch = t.join("room:1", "alice");            // restore → join → serving
//   t.push(ch, "add", {{"n", 1}});
//   auto r = t.call(ch, "get");                     // the reply, if any
//   t.crash(ch);                                    // its handler throws
//   auto again = t.rejoin(ch);                      // restored from the backup
//   t.join_reply(again)->response["restored"];      // true
//
// The pieces it is built from have headers of their own: case_options.hpp
// (how to build it), channel_handle.hpp (a joined channel),
// recording_transport.hpp (the client's side, recorded) and
// scheduler_steps.hpp (virtual time and isolated requests).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <chanstate/actors/channel.hpp>
#include <chanstate/actors/channel_error.hpp>
#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/actors/router.hpp>
#include <chanstate/registry/backup_table.hpp>
#include <chanstate/registry/registry_actor.hpp>
#include <chanstate/registry/registry_error.hpp>

#include <chanstate/actors/testing/case_options.hpp>
#include <chanstate/actors/testing/channel_handle.hpp>
#include <chanstate/actors/testing/crashable_channel.hpp>
#include <chanstate/actors/testing/recording_transport.hpp>
#include <chanstate/actors/testing/scheduler_steps.hpp>

namespace chanstate::testing {

/// Registry, pubsub, router and recording transports on the deterministic
/// scheduler, with helpers that read like Phoenix's ChannelTest.
class channel_case {
public:
  /// Starts a registry (with `opts.registry`'s limits), pubsub and an empty
  /// router on CAF's test_coordinator and runs them until idle.
  explicit channel_case(case_options opts = {})
    : sys_(prepare(cfg_)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())),
      table_(std::make_shared<backup_table>(opts.registry)),
      routes_(std::make_shared<router>()),
      log_(std::make_shared<transcript>()),
      autorun(opts.autorun) {
    env_.registry = spawn_registry(sys_, table_);
    env_.pubsub = spawn_pubsub(sys_);
    env_.routes = routes_;
    env_.restore_timeout = opts.restore_timeout;
    env_.write_through = opts.write_through;
    env_.max_assigns_bytes = opts.max_assigns_bytes;
    env_.counters = table_->limits();
    sched.run();
  }

  /// Not copyable: it owns an actor system.
  channel_case(const channel_case&) = delete;
  channel_case& operator=(const channel_case&) = delete;

  /// Ends every actor the bench knows, so ~actor_system cannot hang.
  ~channel_case() {
    for (auto& a : tracked_)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    for (auto& [client, tr] : transports_)
      caf::anon_send_exit(tr, caf::exit_reason::kill);
    caf::anon_send_exit(env_.registry, caf::exit_reason::kill);
    caf::anon_send_exit(env_.pubsub, caf::exit_reason::kill);
    sched.run();
  }

  // -- setup ------------------------------------------------------------------

  /// Routes `pattern` to `factory`, wrapped so that crash() works on it.
  caf::error route(std::string pattern, channel_factory factory) {
    if (!factory)
      return routes_->add(std::move(pattern), nullptr);
    return routes_->add(std::move(pattern), [f = std::move(factory)] {
      auto inner = f();
      return inner ? std::make_unique<crashable_channel>(std::move(inner))
                   : std::unique_ptr<crashable_channel>{};
    });
  }

  // -- joining ----------------------------------------------------------------

  /// Joins `topic` as `client` through join_channel; an error if it refused
  /// the request (nothing was spawned then).
  caf::expected<channel_handle>
  try_join(const std::string& topic, const std::string& client,
           boost::json::object params = {}) {
    channel_handle h;
    h.topic = topic;
    h.client_id = client;
    h.join_ref = next_ref();
    h.params = params;
    h.transport = client.empty() ? spawn_transport() : transport_of(client);
    auto ch = join_channel(sys_, env_,
                           join_request{topic, client, h.join_ref,
                                        std::move(params), h.transport});
    if (!ch)
      return std::move(ch.error());
    h.actor = std::move(*ch);
    watch(h.actor);
    settle();
    return h;
  }

  /// Like try_join, but throws std::runtime_error if the join was refused
  /// before spawning (any test framework reports that as a failure).
  channel_handle join(const std::string& topic, const std::string& client,
                      boost::json::object params = {}) {
    auto h = try_join(topic, client, std::move(params));
    if (!h)
      throw std::runtime_error("join_channel failed: " + explain(h.error()));
    return std::move(*h);
  }

  /// Joins the same topic as the same client again, with the same params.
  channel_handle rejoin(const channel_handle& ch) {
    return join(ch.topic, ch.client_id, ch.params);
  }

  /// The reply to the join ({status, response}), once the channel sent it.
  std::optional<reply> join_reply(const channel_handle& ch) const {
    for (const auto& f : frames(ch))
      if (f.kind == frame_kind::join_ok || f.kind == frame_kind::join_error)
        return to_reply(f);
    return std::nullopt;
  }

  /// True if the join was answered ok.
  bool joined(const channel_handle& ch) const {
    auto r = join_reply(ch);
    return r && r->status == "ok";
  }

  // -- talking to a channel ---------------------------------------------------

  /// A client event that expects no reply.
  void push(const channel_handle& ch, const std::string& event,
            boost::json::object payload = {}) {
    caf::anon_send(ch.actor,
                   client_event{std::string{}, event, {std::move(payload)}});
    settle();
  }

  /// A client event with a ref; the reply if one arrived (with autorun off,
  /// run the scheduler and read it with reply_to()).
  std::optional<reply> call(const channel_handle& ch, const std::string& event,
                            boost::json::object payload = {}) {
    auto ref = send_call(ch, event, std::move(payload));
    settle();
    return reply_to(ch, ref);
  }

  /// Sends a client event with a fresh ref and returns the ref.
  std::string send_call(const channel_handle& ch, const std::string& event,
                        boost::json::object payload = {}) {
    auto ref = next_ref();
    caf::anon_send(ch.actor, client_event{ref, event, {std::move(payload)}});
    return ref;
  }

  /// The reply the channel sent to the client event with `ref`, if any.
  std::optional<reply> reply_to(const channel_handle& ch,
                                const std::string& ref) const {
    for (const auto& f : frames(ch))
      if (f.kind == frame_kind::reply && f.ref == ref)
        return to_reply(f);
    return std::nullopt;
  }

  /// Any other message, for handle_info.
  template <class... Ts>
  void info(const channel_handle& ch, Ts&&... xs) {
    caf::anon_send(ch.actor, std::forward<Ts>(xs)...);
    settle();
  }

  // -- ending a channel -------------------------------------------------------

  /// Makes the channel's handler throw (see crashable_channel); only for
  /// channels added with route().
  void crash(const channel_handle& ch) {
    info(ch, crash_atom::value);
  }

  /// exit_reason::kill: no channel code runs, the last commit survives.
  void kill(const channel_handle& ch) {
    exit(ch, caf::exit_reason::kill);
  }

  /// Sends the channel an exit message with any reason (e.g.
  /// remote_link_unreachable to play a lost node, user_shutdown to play a
  /// node shutting down).
  void exit(const channel_handle& ch, caf::error reason) {
    send_exit(ch.actor, std::move(reason));
    settle();
  }

  /// The client leaves the topic (phx_leave); the reply goes to the client.
  void leave(const channel_handle& ch) {
    caf::anon_send(ch.actor, caf::leave_atom::value, next_ref());
    settle();
  }

  /// The transport closes the channel; none = a clean close.
  void close(const channel_handle& ch, caf::error reason = caf::none) {
    caf::anon_send(ch.actor, caf::close_atom::value, std::move(reason));
    settle();
  }

  /// The client's connection dies without a close (heartbeat timeout, TCP
  /// reset): every channel of that client ends with transport_lost.
  void drop_transport(const std::string& client,
                      caf::error reason = caf::exit_reason::kill) {
    auto i = transports_.find(client);
    if (i == transports_.end())
      return;
    send_exit(i->second, std::move(reason));
    transports_.erase(i);
    settle();
  }

  /// drop_transport() of the client of `ch`.
  void drop_transport(const channel_handle& ch,
                      caf::error reason = caf::exit_reason::kill) {
    drop_transport(ch.client_id, std::move(reason));
  }

  /// The client's connection ends normally without closing its channels.
  void close_transport(const std::string& client) {
    auto i = transports_.find(client);
    if (i == transports_.end())
      return;
    caf::anon_send(i->second, caf::close_atom::value);
    transports_.erase(i);
    settle();
  }

  // -- observing --------------------------------------------------------------

  /// Every frame the channel sent to its transport, in order.
  const std::vector<outbound_frame>& frames(const channel_handle& ch) const {
    return log_->frames_of(ch.id());
  }

  /// Frames of one kind (e.g. frame_kind::push or frame_kind::broadcast).
  std::vector<outbound_frame> frames(const channel_handle& ch,
                                     frame_kind kind) const {
    std::vector<outbound_frame> out;
    for (const auto& f : frames(ch))
      if (f.kind == kind)
        out.push_back(f);
    return out;
  }

  /// True until the channel actor terminated.
  bool alive(const channel_handle& ch) const {
    return log_->exits.count(ch.id()) == 0;
  }

  /// The channel's exit reason once it terminated (none = normal).
  std::optional<caf::error> exit_reason(const channel_handle& ch) const {
    auto i = log_->exits.find(ch.id());
    if (i == log_->exits.end())
      return std::nullopt;
    return i->second;
  }

  /// The registry's counters and sizes, asked through the registry actor.
  boost::json::object stats() {
    auto s = ask<std::string>(env_.registry, stats_atom::value);
    if (!s)
      throw std::runtime_error("stats failed: " + describe(s.error()));
    return boost::json::parse(*s).as_object();
  }

  /// The saved assigns of (topic, client), if a backup is stored.
  std::optional<boost::json::object> backup(const std::string& topic,
                                            const std::string& client) {
    auto s = ask<std::string>(env_.registry, caf::get_atom::value,
                              backup_key{topic, client});
    if (!s)
      return std::nullopt;
    return boost::json::parse(*s).as_object();
  }

  /// Imports `json` as the backup of (topic, client); its size or an error.
  caf::expected<std::uint64_t> put_backup(const std::string& topic,
                                          const std::string& client,
                                          const std::string& json) {
    return ask<std::uint64_t>(env_.registry, caf::put_atom::value,
                              backup_key{topic, client}, json);
  }

  /// The last commit of the live channel of (topic, client), if one is live.
  std::optional<boost::json::object> live(const std::string& topic,
                                          const std::string& client) const {
    if (auto s = table_->peek_live(backup_key{topic, client}))
      return s->to_object();
    return std::nullopt;
  }

  /// Sends `xs` to `dest` as a request and returns the answer. Runs only the
  /// asking actor and `dest`, so other actors keep their place.
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& dest, Ts... xs) {
    return ask_alone<T>(sys_, sched, dest, std::move(xs)...);
  }

  // -- scheduling and time ----------------------------------------------------

  /// Runs every pending activation (until no actor has a message).
  std::size_t run() {
    return sched.run();
  }

  /// Handles exactly one message of `a` if it has one; false otherwise.
  template <class Handle>
  bool run_one(const Handle& a) {
    if (!sched.prioritize(a))
      return false;
    sched.run_once();
    return true;
  }

  /// run_one() on the channel's actor.
  bool run_one(const channel_handle& ch) {
    return run_one(ch.actor);
  }

  /// Moves virtual time forward by `d`, firing every timer in order and
  /// running the actors after each (sweeps, down_wait, request timeouts).
  void advance(std::chrono::milliseconds d) {
    advance_time(sched, d);
  }

  /// Virtual now, as the registry sees it.
  caf::actor_clock::time_point now() {
    return sched.clock().now();
  }

  // -- access -----------------------------------------------------------------

  /// The bench's own actor system (testing scheduler).
  caf::actor_system& system() noexcept {
    return sys_;
  }

  /// The environment joins use: registry, pubsub, routes, limits.
  const channel_env& env() const noexcept {
    return env_;
  }

  /// Changes the environment of later joins (e.g. write_through).
  channel_env& env() noexcept {
    return env_;
  }

  /// The router; route() adds the crash wrapper, routes()->add does not.
  router& routes() noexcept {
    return *routes_;
  }

  /// The registry's table; read it only while the scheduler is idle.
  backup_table& table() noexcept {
    return *table_;
  }

  /// The transport of `client` (spawned on first use).
  caf::actor transport_of(const std::string& client) {
    auto& tr = transports_[client];
    if (!tr)
      tr = spawn_transport();
    return tr;
  }

  /// Records the exit reason of `a` and kills it when the bench ends.
  void watch(const caf::actor& a) {
    tracked_.push_back(a);
    auto log = log_;
    auto id = a.id();
    a->attach_functor(
      [log, id](const caf::error& reason) { log->exits[id] = reason; });
  }

  /// Sends `a` an exit message with any reason (anon_send_exit only takes
  /// CAF's exit_reason values).
  static void send_exit(const caf::actor& a, caf::error reason) {
    send_exit_reason(a, std::move(reason));
  }

  /// A fresh ref for a client message.
  std::string next_ref() {
    return std::to_string(++refs_);
  }

private:
  static caf::actor_system_config& prepare(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    return cfg;
  }

  caf::actor spawn_transport() {
    auto tr = sys_.spawn(recording_transport, log_);
    tracked_.push_back(tr);
    return tr;
  }

  void settle() {
    if (autorun)
      sched.run();
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;

public:
  /// The deterministic scheduler, for tests that step it by hand.
  caf::scheduler::test_coordinator& sched;

private:
  std::shared_ptr<backup_table> table_;
  std::shared_ptr<router> routes_;
  std::shared_ptr<transcript> log_;
  channel_env env_;
  std::unordered_map<std::string, caf::actor> transports_;
  std::vector<caf::actor> tracked_;
  std::uint64_t refs_ = 0;

public:
  /// Run the scheduler after every helper (see case_options::autorun).
  bool autorun;
};

} // namespace chanstate::testing
