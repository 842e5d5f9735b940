// How a channel ends: a refused join, an end with a reason, and the clean
// end that lingers until its drop is durable.
#include <chanstate/actors/channel_state.hpp>

#include <caf/all.hpp>

#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate::channel_parts {

// A refused or crashed join acknowledges nothing (nothing was committed)
// and nothing can be queued before it: it goes out at once.
void send_join_error(channel_ptr self, outbound_frame f) {
  self->send(self->state.gate.transport(), std::move(f));
}

void refuse_join(channel_ptr self, const join_request& req,
                 boost::json::object response) {
  refuse_join(self, req.join_ref, req.topic, std::move(response));
}

void refuse_join(channel_ptr self, const std::string& join_ref,
                 const std::string& topic, boost::json::object response) {
  self->state.join_replied = true;
  send_join_error(self, make_reply(frame_kind::join_error, join_ref, join_ref,
                                   topic, "error", std::move(response)));
  self->quit(caf::make_error(channel_exit::join_refused));
}

namespace {

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

} // namespace

// Ends the channel; `last` (a leave's or a stopping handler's reply) is
// its last frame. A clean end drops the state: with a journal, the client
// hears of it only once the drop is on disk (a process crash in between
// would bring back the state it left), so the channel lingers until then.
// A node shutdown clears the journal itself.
void end_channel(channel_ptr self, caf::error reason,
                 std::optional<outbound_frame> last) {
  auto& st = self->state;
  st.impl->terminate(reason, st.sock);
  commit(self);
  if (!reason && st.journaled) {
    channel_runtime::sink(st.sock).dropping();
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

} // namespace chanstate::channel_parts
