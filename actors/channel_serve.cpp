// Serving: the join, the handlers, and the commit after every one of them.
#include <chanstate/actors/channel_state.hpp>

#include <exception>

#include <caf/all.hpp>

#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/registry/registry_error.hpp>
#include <chanstate/registry/remote_protocol.hpp>

namespace chanstate::channel_parts {

// Commits after a handler. A commit over max_assigns_bytes is counted and
// refused (the assigns stay at the last commit); returns the error payload
// for the client then.
std::optional<boost::json::object> commit(channel_ptr self) {
  auto& st = self->state;
  const auto& lim = *st.limits;
  auto refused = channel_runtime::commit(st.sock, st.gate, lim.write_through,
                                         lim.max_assigns_bytes);
  if (!refused)
    return std::nullopt;
  if (lim.counters)
    lim.counters->assigns_too_large.fetch_add(1, std::memory_order_relaxed);
  return boost::json::object{{"reason", "assigns_too_large"},
                             {"limit", lim.max_assigns_bytes},
                             {"size", *refused}};
}

namespace {

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
      reply = make_reply(frame_kind::reply, st.sock.join_ref(), ref,
                         st.sock.topic(), "error", std::move(*refusal));
    else
      st.sock.push("commit_refused", std::move(*refusal));
  } else if (r.answer && !ref.empty()) {
    reply = make_reply(frame_kind::reply, st.sock.join_ref(), ref,
                       st.sock.topic(), r.answer->status,
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

// The serving handlers. They run from the default handler, which CAF
// hands the actor, so they capture nothing: a behavior of six handlers
// capturing `self` is 288 bytes per channel (CAF allocates one per
// become), every channel's behavior below is the same object.
void on_client_event(channel_ptr self, client_event& ev) {
  auto& st = self->state;
  channel_runtime::sink(st.sock).event_started(ev.event);
  handle_result r;
  // Caught here, not in the exception handler: CAF hands that one an
  // exception_ptr whose text costs a second throw (exception_text), on
  // the path every crash-and-recover takes. The end is the same.
  try {
    r = st.impl->handle_in(ev.event, ev.payload.value, st.sock);
  } catch (const std::exception& e) {
    self->quit(caf::make_error(channel_exit::crashed, e.what()));
    return;
  }
  channel_runtime::sink(st.sock).event_completed(); // the guard's "progress"
  finish(self, ev.ref, std::move(r));
}

void on_leave(channel_ptr self, const std::string& ref) {
  auto& st = self->state;
  std::optional<outbound_frame> reply;
  if (!ref.empty())
    reply = make_reply(frame_kind::reply, st.sock.join_ref(), ref,
                       st.sock.topic(), "ok", {});
  end_channel(self, caf::none, std::move(reply));
}

// From the registry link after it reconnected: register again with the
// full current assigns (commits made while it was away were deferred).
void on_reattach(channel_ptr self) {
  auto& st = self->state;
  auto registry = channel_runtime::sink(st.sock).remote_registry();
  if (!registry)
    return; // a local channel commits into its cell: nothing to reattach
  auto assigns = st.sock.assigns();
  // The registry holding these assigns makes every commit so far
  // durable, including those it never saw while the link was down.
  auto seq = st.gate.seq();
  self
    ->request(registry, caf::infinite, reattach_atom::value,
              backup_key{st.sock.topic(), st.sock.client_id()},
              caf::actor_cast<caf::actor>(self), to_json_text(assigns))
    .then(
      [self, assigns, seq](bool) {
        channel_runtime::sink(self->state.sock).rebase(assigns);
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
  // What the default handler returns: a request gets the empty answer it
  // always got; an asynchronous message (every event, broadcast and
  // durability note) needs none, and "delegated" tells CAF so, where an
  // empty message would make it build and drop a response promise (two
  // reference counts up and down) per event.
  const auto* elem = self->current_mailbox_element();
  caf::result<caf::message> done
    = elem && elem->mid.is_request()
        ? caf::result<caf::message>{caf::message{}}
        : caf::result<caf::message>{caf::delegated<caf::message>{}};
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
    finish(self, std::string{}, st.impl->handle_info(msg, st.sock));
  }
  return done;
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

} // namespace

void start_serving(channel_ptr self, const join_request& req,
                   const channel_env& env, commit_sink sink, bool restored,
                   std::string note, std::size_t fallback) {
  auto& st = self->state;
  // The key once per channel: the socket takes it from the sink (the
  // registry's commit cell, or the remote sink's copy).
  st.sock = socket{std::move(sink), req.join_ref, restored, std::move(note),
                   fallback, req.claims};
  if (st.sock.topic() != req.topic || st.sock.client_id() != req.client_id)
    channel_runtime::own_key(st.sock, backup_key{req.topic, req.client_id});
  channel_runtime::bind(st.sock, st.gate, env.pubsub);
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
  auto jr = st.impl->join(req.params, st.sock);
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
  channel_runtime::release_held(st.sock);
  if (env.pubsub
      && !st.subscription.subscribe(env.pubsub, self->address(), req.topic))
    self->send(env.pubsub, caf::subscribe_atom::value, req.topic);
  // The channel's messages, and handle_info for anything else.
  self->set_default_handler(serve);
  self->become(serving());
}

} // namespace chanstate::channel_parts
