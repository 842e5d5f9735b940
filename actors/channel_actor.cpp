// The channel actor: restore, join, serve, commit after every handler.
#include <chanstate/actors/channel_actor.hpp>

#include <exception>
#include <optional>

#include <caf/all.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <chanstate/actors/channel.hpp>
#include <chanstate/actors/commit_sink.hpp>
#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/outbound_gate.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/actors/transport_watch.hpp>
#include <chanstate/registry/registry_error.hpp>
#include <chanstate/registry/remote_protocol.hpp>

namespace chanstate {

/// The socket's private side: only the runtime commits and routes frames.
class channel_runtime {
public:
  static void bind(socket& s, caf::event_based_actor* self, outbound_gate& gate,
                   caf::actor pubsub) {
    s.self_ = self;
    s.gate_ = &gate;
    s.pubsub_ = std::move(pubsub);
  }

  /// Sends what join pushed, now that the join reply is out.
  static void release_held(socket& s) {
    s.holding_ = false;
    if (!s.held_)
      return;
    for (auto& f : *s.held_)
      s.gate_->send(std::move(f));
    s.held_.reset();
  }

  /// Publishes the assigns if the last handler changed them. Assigns over
  /// `limit` bytes (0 = no limit) are refused: nothing is published, the
  /// socket goes back to its last commit, and their size is returned.
  /// O(keys) like the commit itself: byte_size() is a running total.
  static std::optional<std::size_t>
  commit(socket& s, commit_sink& sink, outbound_gate& gate, bool write_through,
         std::size_t limit) {
    if (!s.dirty_)
      return std::nullopt;
    s.dirty_ = false;
    if (limit != 0) {
      if (auto size = s.assigns_.byte_size(); size > limit) {
        s.assigns_ = s.committed_;
        return size;
      }
    }
    s.committed_ = s.assigns_;
    if (write_through)
      sink.publish(s.assigns_, gate);
    return std::nullopt;
  }
};

namespace {

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
  std::optional<socket> sock;
  std::optional<commit_sink> sink;
  // Every frame to the client goes through it (durable acknowledgements);
  // it holds the transport.
  outbound_gate gate;
  registry_actor registry;
  std::shared_ptr<limit_counters> counters;
  std::size_t max_assigns_bytes = 0;
  bool journaled = false; // the gate asks a journal writer for durability
  bool write_through = true;
  bool join_replied = false;
  bool watching = false; // watch_transport ran
  // The channel's place in its topic's subscribers: ends with the state,
  // so pubsub needs no monitor and no message per join.
  topic_subscription subscription;
};

using channel_ptr = caf::stateful_actor<channel_state>*;

// Whether a local join times its restore with a request timer (two events on
// CAF's clock thread per join) rather than a deadline in the request. Only
// under work stealing, where the timers throttle a crash storm that would
// otherwise stall in CAF 0.17's O(queue length) steal: without them
// `recover` ran at half the rate there (README, "Crash recovery").
bool restore_timer(caf::actor_system& sys) {
  using stealing = caf::scheduler::coordinator<caf::policy::work_stealing>;
  return dynamic_cast<stealing*>(&sys.scheduler()) != nullptr;
}

std::string exception_text(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Replies, pushes and broadcasts: after a commit they wait until it is
// durable (outbound_gate).
void send_frame(channel_ptr self, outbound_frame f) {
  self->state.gate.send(std::move(f));
}

// A refused or crashed join acknowledges nothing (nothing was committed)
// and nothing can be queued before it: it goes out at once.
void send_join_error(channel_ptr self, outbound_frame f) {
  self->send(self->state.gate.transport(), std::move(f));
}

void refuse_join(channel_ptr self, const join_request& req,
                 boost::json::object response) {
  self->state.join_replied = true;
  send_join_error(self, make_reply(frame_kind::join_error, req.join_ref,
                                   req.join_ref, req.topic, "error",
                                   std::move(response)));
  self->quit(caf::make_error(channel_exit::join_refused));
}

// Commits after a handler. A commit over max_assigns_bytes is counted and
// refused (the assigns stay at the last commit); returns the error payload
// for the client then.
std::optional<boost::json::object> commit(channel_ptr self) {
  auto& st = self->state;
  auto refused = channel_runtime::commit(*st.sock, *st.sink, st.gate,
                                         st.write_through,
                                         st.max_assigns_bytes);
  if (!refused)
    return std::nullopt;
  if (st.counters)
    st.counters->assigns_too_large.fetch_add(1, std::memory_order_relaxed);
  return boost::json::object{{"reason", "assigns_too_large"},
                             {"limit", st.max_assigns_bytes},
                             {"size", *refused}};
}

// Runs terminate and ends the actor. Phoenix runs terminate for leave, close
// and stop, never for a crash. A refused commit here is only counted: the
// channel ends with its last commit. A normal end drops the state anyway,
// so frames still waiting for durability go out (the leave reply must reach
// the client); any other end keeps the state and sends no frame that was
// never acknowledged.
// After a clean end whose last frame waits for the journal: the channel
// has ended for its client and only waits to tell it so.
caf::behavior ending(channel_ptr self) {
  self->set_default_handler(caf::drop);
  // The client asked for the end: a lost transport, or a rejoin taking
  // the key over (registry: taken_over), changes nothing; it still ends
  // clean, so the registry drops the state and the rejoin starts fresh.
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  self->set_exit_handler([self](caf::exit_msg&) { self->quit(); });
  return {
    [self](journal_durable_atom, std::uint64_t seq) {
      self->state.gate.durable(seq);
      if (self->state.gate.held() == 0)
        self->quit();
    },
  };
}

// Ends the channel; `last` (a leave's or a stopping handler's reply) is
// its last frame. A clean end drops the state: with a journal, the client
// hears of it only once the drop is on disk (a process crash in between
// would bring back the state it left), so the channel lingers until then.
// A node shutdown clears the journal itself.
void end_channel(channel_ptr self, caf::error reason,
                 std::optional<outbound_frame> last = std::nullopt) {
  auto& st = self->state;
  st.impl->terminate(reason, *st.sock);
  commit(self);
  if (!reason && st.journaled) {
    st.sink->dropping();
    st.gate.committed();
    if (last)
      send_frame(self, std::move(*last));
    if (st.gate.held() != 0) {
      self->become(ending(self));
      return;
    }
    self->quit();
    return;
  }
  if (last)
    send_frame(self, std::move(*last));
  if (!reason || reason == caf::exit_reason::user_shutdown)
    st.gate.release_all();
  self->quit(std::move(reason));
}

// The common tail of every handler that returned: commit, reply, maybe stop.
// A refused commit replaces the handler's reply with an error reply; an
// event with a ref gets it even when the handler did not reply (phoenix.js
// sends a ref with every push), anything else (handle_info) becomes a
// "commit_refused" push, so the client always learns its change was lost.
void finish(channel_ptr self, const std::string& ref, handle_result r) {
  auto& st = self->state;
  std::optional<outbound_frame> reply;
  if (auto refusal = commit(self)) {
    if (!ref.empty())
      reply = make_reply(frame_kind::reply, st.sock->join_ref(), ref,
                         st.sock->topic(), "error", std::move(*refusal));
    else
      st.sock->push("commit_refused", std::move(*refusal));
  } else if (r.answer && !ref.empty()) {
    reply = make_reply(frame_kind::reply, st.sock->join_ref(), ref,
                       st.sock->topic(), r.answer->status,
                       std::move(r.answer->response));
    // Lists the reply shares with the assigns ride along by pointer.
    if (!r.answer->shared.empty())
      reply->payload.shared = std::make_shared<const shared_lists>(
        shared_lists{"response", std::move(r.answer->shared)});
  }
  if (r.stop) {
    end_channel(self, std::move(r.stop_reason), std::move(reply));
    return;
  }
  if (reply)
    send_frame(self, std::move(*reply));
}

// Durable acknowledgements (README, "Acknowledged means durable"): with a
// journal the gate asks the journal writer to write the batch holding a
// commit; with a registry on another node each commit's reply is its
// acknowledgement. Without either (or with --ack=async) the commit cell
// store is the durable point and no frame ever waits.
void setup_durability(channel_ptr self, const channel_env& env,
                      backup_key key) {
  if (env.ack != ack_mode::durable)
    return;
  auto& st = self->state;
  if (env.remote_registry || env.registry.node() != self->node()) {
    st.gate.hold_until_durable(nullptr);
  } else if (env.journal) {
    st.journaled = true;
    // No message per wait: the commit is already in the writer's inbox,
    // which notes the wait and answers with journal_durable_atom after the
    // batch that holds it (group commit: one transaction for all).
    auto journal = env.journal;
    st.gate.hold_until_durable([self, journal,
                                key = std::move(key)](std::uint64_t seq) {
      if (journal->await(key, caf::actor_cast<caf::actor>(self), seq))
        self->state.gate.durable(seq);
    });
  }
}

// The serving handlers. They run from the default handler, which CAF
// hands the actor, so they capture nothing: a behavior of six handlers
// capturing `self` is 288 bytes per channel (CAF allocates one per
// become), every channel's behavior below is the same object.
void on_client_event(channel_ptr self, client_event& ev) {
  auto& st = self->state;
  st.sink->event_started(ev.event);
  handle_result r;
  // Caught here, not in the exception handler: CAF hands that one an
  // exception_ptr whose text costs a second throw (exception_text), on
  // the path every crash-and-recover takes. The end is the same.
  try {
    r = st.impl->handle_in(ev.event, ev.payload.value, *st.sock);
  } catch (const std::exception& e) {
    self->quit(caf::make_error(channel_exit::crashed, e.what()));
    return;
  }
  st.sink->event_completed(); // the poison guard's "progress"
  finish(self, ev.ref, std::move(r));
}

void on_leave(channel_ptr self, const std::string& ref) {
  auto& st = self->state;
  std::optional<outbound_frame> reply;
  if (!ref.empty())
    reply = make_reply(frame_kind::reply, st.sock->join_ref(), ref,
                       st.sock->topic(), "ok", {});
  end_channel(self, caf::none, std::move(reply));
}

// From the registry link after it reconnected: register again with the
// full current assigns (commits made while it was away were deferred).
void on_reattach(channel_ptr self) {
  auto& st = self->state;
  auto assigns = st.sock->assigns();
  // The registry holding these assigns makes every commit so far
  // durable, including those it never saw while the link was down.
  auto seq = st.gate.seq();
  self
    ->request(st.registry, caf::infinite, reattach_atom::value,
              backup_key{st.sock->topic(), st.sock->client_id()},
              caf::actor_cast<caf::actor>(self), to_json_text(assigns))
    .then(
      [self, assigns, seq](bool) {
        self->state.sink->rebase(assigns);
        self->state.gate.durable(seq);
      },
      [self](caf::error& err) {
        // A newer join owns the key now; anything else is retried on the
        // link's next reconnect.
        if (err == registry_error::superseded)
          self->quit(caf::make_error(channel_exit::taken_over));
      });
}

void on_broadcast(channel_ptr self, topic_broadcast b) {
  outbound_frame f;
  f.kind = frame_kind::broadcast;
  f.topic = std::move(b.topic);
  f.event = std::move(b.event);
  f.payload = std::move(b.payload);
  send_frame(self, std::move(f));
}

// The serving dispatch, in the order of how often each arrives; anything
// that is not a channel message goes to handle_info.
caf::result<caf::message> serve(caf::scheduled_actor* ptr,
                                caf::message_view& x) {
  auto self = static_cast<channel_ptr>(ptr);
  auto& xs = x.content();
  if (xs.match_elements<client_event>()) {
    // In place unless another receiver shares the message.
    if (!xs.shared()) {
      on_client_event(self, xs.get_mutable_as<client_event>(0));
    } else {
      auto ev = xs.get_as<client_event>(0);
      on_client_event(self, ev);
    }
  } else if (xs.match_elements<topic_broadcast>()) {
    on_broadcast(self, xs.move_if_unshared<topic_broadcast>(0));
  } else if (xs.match_elements<journal_durable_atom, std::uint64_t>()) {
    self->state.gate.durable(xs.get_as<std::uint64_t>(1));
  } else if (xs.match_elements<caf::leave_atom, std::string>()) {
    on_leave(self, xs.get_as<std::string>(1));
  } else if (xs.match_elements<caf::close_atom, caf::error>()) {
    end_channel(self, xs.move_if_unshared<caf::error>(1));
  } else if (xs.match_elements<reattach_atom>()) {
    on_reattach(self);
  } else {
    auto& st = self->state;
    auto msg = x.move_content_to_message();
    finish(self, std::string{}, st.impl->handle_info(msg, *st.sock));
  }
  return caf::message{};
}

// CAF ends an actor whose behavior stack is empty, so a serving channel
// needs one; this one is shared by every channel (a behavior captures
// nothing here and CAF's match cases keep no state while matching). Its one
// handler takes an atom nothing sends; every message reaches serve().
using serving_atom = caf::atom_constant<caf::atom("cs_serving")>;

const caf::behavior& serving() {
  static const caf::behavior shared{[](serving_atom) {}};
  return shared;
}

void start_serving(channel_ptr self, const join_request& req,
                   const channel_env& env, commit_sink sink, bool restored,
                   std::string note, std::size_t fallback) {
  auto& st = self->state;
  st.sink.emplace(std::move(sink));
  st.sock.emplace(req.topic, req.client_id, req.join_ref,
                  st.sink->initial(), restored, std::move(note), fallback,
                  req.claims);
  channel_runtime::bind(*st.sock, self, st.gate, env.pubsub);
  // The join reply shows the state the channel starts from, which may be
  // ahead of the journal: a restored state came from memory (a crashed or
  // taken-over channel's last commit), and a fresh start may follow a clean
  // end whose drop of the old state is not written yet (a process crash
  // then would bring the left state back). So it waits like a frame after a
  // commit. A remote registry's state is already held by it.
  if (st.journaled
      && (restored
          || !env.journal->settled(backup_key{req.topic, req.client_id})))
    st.gate.committed();
  auto jr = st.impl->join(req.params, *st.sock);
  if (!jr.accepted) {
    refuse_join(self, req, std::move(jr.response));
    return;
  }
  if (auto refusal = commit(self)) {
    refuse_join(self, req, std::move(*refusal));
    return;
  }
  st.join_replied = true;
  send_frame(self, make_reply(frame_kind::join_ok, req.join_ref, req.join_ref,
                              req.topic, "ok", std::move(jr.response)));
  channel_runtime::release_held(*st.sock);
  if (env.pubsub
      && !st.subscription.subscribe(env.pubsub, self->address(), req.topic))
    self->send(env.pubsub, caf::subscribe_atom::value, req.topic);
  // The channel's messages, and handle_info for anything else.
  self->set_default_handler(serve);
  self->become(serving());
}

caf::behavior channel_impl(channel_ptr self, channel_env env,
                           join_request req, channel_factory factory) {
  auto& st = self->state;
  st.impl = factory();
  st.registry = env.registry;
  st.write_through = env.write_through;
  st.max_assigns_bytes = env.max_assigns_bytes;
  st.counters = env.counters;
  st.gate.bind(self, req.transport);
  setup_durability(self, env, backup_key{req.topic, req.client_id});
  // Hold client events until the registry answered: skip now, become(serving)
  // then; request().await() would hold back even exit messages.
  self->set_default_handler(caf::skip);
  // Not a monitor per channel: n monitors on one transport make ending n
  // channels O(n²) in CAF 0.17 (transport_watch.hpp). Unwatching at the end
  // leaves no reference to this channel on a transport that lives on.
  watch_transport(self, req.transport);
  st.watching = true;
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source != self->state.gate.transport().address())
      return;
    // The transport ended without telling us. A clean end or a node
    // shutdown ends the channel the same way (backup dropped); anything else
    // is a lost connection: keep the state for a rejoin.
    if (!dm.reason || dm.reason == caf::exit_reason::user_shutdown)
      self->quit(dm.reason);
    else
      self->quit(caf::make_error(channel_exit::transport_lost,
                                 describe(dm.reason)));
  });
  self->set_exception_handler([self](std::exception_ptr& e) -> caf::error {
    auto what = exception_text(e);
    auto& st = self->state;
    if (!st.join_replied && st.sock) {
      st.join_replied = true;
      send_join_error(self, make_reply(frame_kind::join_error,
                                       st.sock->join_ref(),
                                       st.sock->join_ref(), st.sock->topic(),
                                       "error", {{"reason", "join crashed"}}));
    }
    return caf::make_error(channel_exit::crashed, std::move(what));
  });
  if (!st.impl) {
    refuse_join(self, req, {{"reason", "no channel implementation"}});
    return {};
  }
  backup_key key{req.topic, req.client_id};
  auto on_error = [self, req](caf::error& err) {
    refuse_join(self, req,
                {{"reason", "restore failed"}, {"detail", describe(err)}});
  };
  if (!env.remote_registry && env.registry.node() == self->node()) {
    auto registry = env.registry;
    auto timeout = env.restore_timeout;
    // Moved, not copied: below only registry and timeout are read (on_error
    // holds its own copy of req).
    auto on_restored = [self, env = std::move(env),
                        req = std::move(req)](restore_outcome& out) {
      start_serving(self, req, env, commit_sink{std::move(out.cell)},
                    out.restored, std::move(out.reason),
                    out.fallback_generation);
    };
    if (!restore_timer(self->home_system())) {
      // The deadline travels with the request and the registry refuses the
      // join once it passed; a local registry always answers (an ending one
      // answers the joins it holds, CAF bounces what is still queued).
      auto deadline = self->clock().now() + timeout;
      self
        ->request(registry, caf::infinite, restore_atom::value,
                  std::move(key), caf::actor_cast<caf::actor>(self),
                  caf::timespan{deadline.time_since_epoch()})
        .then(std::move(on_restored), std::move(on_error));
    } else {
      self
        ->request(registry, timeout, restore_atom::value, std::move(key),
                  caf::actor_cast<caf::actor>(self))
        .then(std::move(on_restored), std::move(on_error));
    }
  } else {
    self
      ->request(env.registry, env.restore_timeout, remote_restore_atom::value,
                key, caf::actor_cast<caf::actor>(self))
      .then(
        [self, env, req, key](remote_restore& out) {
          auto start = snapshot_from_json_text(out.assigns);
          if (!start) {
            refuse_join(self, req, {{"reason", "restore failed"},
                                    {"detail", describe(start.error())}});
            return;
          }
          start_serving(self, req, env,
                        commit_sink{self, env.registry, key, *start},
                        out.restored, std::move(out.reason),
                        static_cast<std::size_t>(out.fallback_generation));
        },
        on_error);
  }
  return {};
}

} // namespace

caf::actor spawn_channel(caf::actor_system& sys, const channel_env& env,
                         join_request req, const channel_factory& factory) {
  return sys.spawn(channel_impl, env, std::move(req), factory);
}

} // namespace chanstate
