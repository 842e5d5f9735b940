// Respawn the registry over the same table; delegate everything to it.
#include <chanstate/registry/registry_supervisor.hpp>

#include <caf/all.hpp>

namespace chanstate {

namespace {

struct supervisor_state {
  static inline const char* name = "chanstate.registry_supervisor";
  std::shared_ptr<backup_table> table;
  caf::actor current;

  // Runs when the supervisor terminates, whatever the reason: its registry
  // must not outlive it (a live actor keeps ~actor_system waiting).
  ~supervisor_state() {
    if (current)
      caf::anon_send_exit(current, caf::exit_reason::user_shutdown);
  }
};

using supervisor_ptr = caf::stateful_actor<supervisor_state>*;

void start_registry(supervisor_ptr self) {
  auto& st = self->state;
  st.current = caf::actor_cast<caf::actor>(
    spawn_registry(self->home_system(), st.table));
  self->monitor(st.current);
}

caf::behavior supervisor_impl(supervisor_ptr self,
                              std::shared_ptr<backup_table> table) {
  self->state.table = std::move(table);
  start_registry(self);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.current.address())
      return;
    if (!dm.reason || dm.reason == caf::exit_reason::user_shutdown) {
      self->quit(dm.reason);
      return;
    }
    ++st.table->counters().registry_restarts;
    start_registry(self);
  });
  // Everything but the supervisor's own query goes to the current registry,
  // with the original sender and request id.
  self->set_default_handler(
    [self](caf::scheduled_actor*, caf::message_view& x)
      -> caf::result<caf::message> {
      self->delegate(self->state.current, x.move_content_to_message());
      return caf::delegated<caf::message>{};
    });
  return {
    [self](registry_now_atom) { return self->state.current; },
  };
}

} // namespace

registry_actor spawn_supervised_registry(caf::actor_system& sys,
                                         std::shared_ptr<backup_table> table) {
  return caf::actor_cast<registry_actor>(
    sys.spawn(supervisor_impl, std::move(table)));
}

} // namespace chanstate
