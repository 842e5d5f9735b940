// The channel actor: spawn, durability set-up, the restore before the join.
// Serving is in channel_serve.cpp, ending in channel_end.cpp.
#include <chanstate/actors/channel_actor.hpp>

#include <exception>
#include <optional>

#include <caf/all.hpp>
#include <caf/detail/log_level.hpp>
#include <caf/logger.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <chanstate/actors/channel.hpp>
#include <chanstate/actors/channel_state.hpp>
#include <chanstate/actors/commit_sink.hpp>
#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/outbound_gate.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/actors/transport_watch.hpp>
#include <chanstate/registry/registry_error.hpp>
#include <chanstate/registry/remote_protocol.hpp>

namespace chanstate {

namespace {

using namespace channel_parts;

// Whether a local join times its restore with a request timer (two events on
// CAF's clock thread per join) rather than a deadline in the request. Only
// under work stealing, where the timers throttle a crash storm that would
// otherwise stall in CAF 0.17's O(queue length) steal: without them
// `recover` ran at half the rate there (README, "Crash recovery").
bool restore_timer(caf::actor_system& sys) {
  using stealing = caf::scheduler::coordinator<caf::policy::work_stealing>;
  return dynamic_cast<stealing*>(&sys.scheduler()) != nullptr;
}

// CAF 0.17 keeps a request's timeout on its clock (three entries, 144
// bytes, and a strong reference to the channel) until the timeout passes,
// answered or not: 10 s per join on a node, so it is dropped once the
// answer came (README, "Memory per channel and per backup").
void drop_restore_timer(channel_ptr self, caf::message_id id) {
  self->clock().cancel_request_timeout(self, id);
}

// CAF 0.17 pushes the running actor's id to its logger around every
// resume, launch and destruction of an actor (CAF_PUSH_AID: a map of thread
// ids under a spinlock both workers take, twice per job), whether or not
// logging is compiled in. In a build without logging (Debian's: nothing is
// ever logged) that is bookkeeping nobody reads, 4-5% of a crash storm's
// CPU. CAF skips it on a thread without a current logger, but makes the
// system's logger current again in every spawn; so a thread's is cleared
// where a channel starts and after each channel's spawn.
void skip_caf_log_bookkeeping() {
#if !defined(CAF_LOG_LEVEL) || CAF_LOG_LEVEL == CAF_LOG_LEVEL_QUIET
  if (caf::logger::current_logger() != nullptr)
    caf::logger::set_current_actor_system(nullptr);
#endif
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

// Durable acknowledgements (README, "Acknowledged means durable"): with a
// journal the gate asks the journal writer to write the batch holding a
// commit; with a registry on another node each commit's reply is its
// acknowledgement. Without either (or with --ack=async) the commit cell
// store is the durable point and no frame ever waits.
void setup_durability(channel_ptr self, const channel_env& env,
                      const join_request& req) {
  if (env.ack != ack_mode::durable)
    return;
  auto& st = self->state;
  if (env.remote_registry || env.registry.node() != self->node()) {
    st.gate.hold_until_durable(nullptr);
  } else if (env.journal) {
    st.journaled = true;
    // The key only here: without a journal (every join of a node that has
    // none) nothing needs it.
    backup_key key{req.topic, req.client_id};
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

caf::behavior channel_impl(channel_ptr self, channel_env env,
                           join_request req, channel_factory factory) {
  skip_caf_log_bookkeeping();
  auto& st = self->state;
  st.impl = factory();
  st.limits = channel_limits_for(env);
  st.gate.bind(self, req.transport);
  setup_durability(self, env, req);
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
    if (!st.join_replied && channel_runtime::joined(st.sock)) {
      st.join_replied = true;
      send_join_error(self, make_reply(frame_kind::join_error,
                                       st.sock.join_ref(),
                                       st.sock.join_ref(), st.sock.topic(),
                                       "error", {{"reason", "join crashed"}}));
    }
    return caf::make_error(channel_exit::crashed, std::move(what));
  });
  if (!st.impl) {
    refuse_join(self, req, {{"reason", "no channel implementation"}});
    return {};
  }
  backup_key key{req.topic, req.client_id};
  // Only what the refusal names, not the whole request: its copy held a
  // handle to the transport, whose count all of its channels share.
  auto on_error = [self, ref = req.join_ref,
                   topic = req.topic](caf::error& err) {
    refuse_join(self, ref, topic,
                {{"reason", "restore failed"}, {"detail", describe(err)}});
  };
  if (!env.remote_registry && env.registry.node() == self->node()) {
    // env and req are moved into the answer's handler only once the
    // request is out: no copy of the registry's handle, whose count every
    // channel of the node shares.
    auto serve = [self](channel_env env, join_request req) {
      return [self, env = std::move(env),
              req = std::move(req)](restore_outcome& out) {
        start_serving(self, req, env, commit_sink{std::move(out.cell)},
                      out.restored, std::move(out.reason),
                      out.fallback_generation);
      };
    };
    if (!restore_timer(self->home_system())) {
      // The deadline travels with the request and the registry refuses the
      // join once it passed; a local registry always answers (an ending one
      // answers the joins it holds, CAF bounces what is still queued).
      auto deadline = self->clock().now() + env.restore_timeout;
      auto h = self->request(env.registry, caf::infinite, restore_atom::value,
                             std::move(key), caf::actor_cast<caf::actor>(self),
                             caf::timespan{deadline.time_since_epoch()});
      h.then(serve(std::move(env), std::move(req)), std::move(on_error));
    } else {
      auto h = self->request(env.registry, env.restore_timeout,
                             restore_atom::value, std::move(key),
                             caf::actor_cast<caf::actor>(self));
      h.then(
        [self, id = h.id(), on_restored = serve(std::move(env),
                                                std::move(req))](
          restore_outcome& out) {
          drop_restore_timer(self, id);
          on_restored(out);
        },
        std::move(on_error));
    }
  } else {
    auto h = self->request(env.registry, env.restore_timeout,
                           remote_restore_atom::value, key,
                           caf::actor_cast<caf::actor>(self));
    h.then(
        [self, env, req, key, id = h.id()](remote_restore& out) {
          drop_restore_timer(self, id);
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

namespace channel_parts {

channel_limits_ptr channel_limits_for(const channel_env& env) {
  // Per thread, so no lock: a node's joins come from one or a few threads,
  // and each keeps one object for as long as the values stay the same.
  thread_local channel_limits_ptr last;
  if (!last || last->counters != env.counters
      || last->max_assigns_bytes != env.max_assigns_bytes
      || last->write_through != env.write_through)
    last = caf::make_counted<channel_limits>(env.counters,
                                             env.max_assigns_bytes,
                                             env.write_through);
  return last;
}

} // namespace channel_parts

caf::actor spawn_channel(caf::actor_system& sys, const channel_env& env,
                         join_request req, const channel_factory& factory) {
  auto ch = sys.spawn(channel_impl, env, std::move(req), factory);
  skip_caf_log_bookkeeping();
  return ch;
}

} // namespace chanstate
