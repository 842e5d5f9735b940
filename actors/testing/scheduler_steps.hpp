// Stepping CAF's test_coordinator by hand: virtual time that fires timers in
// order, a request answered while only the asked actor runs, and exit
// messages with any reason.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace chanstate::testing {

/// Moves virtual time forward by `d`, firing every timer in order and
/// running the actors after each, so a timer set by a timeout's handler
/// fires too if it falls within `d`.
inline void advance_time(caf::scheduler::test_coordinator& sched,
                         std::chrono::milliseconds d) {
  auto& clock = sched.clock();
  auto target = clock.current_time + d;
  sched.run();
  while (!clock.schedule().empty()
         && clock.schedule().begin()->first <= target) {
    auto due = clock.schedule().begin()->first;
    sched.advance_time(due > clock.current_time ? due - clock.current_time
                                                : caf::timespan{0});
    sched.run();
  }
  if (target > clock.current_time)
    sched.advance_time(target - clock.current_time);
  sched.run();
}

/// Sends `xs` to `dest` as a request and returns the answer. Runs only the
/// asking actor and `dest`, so other actors keep their place; a
/// request_timeout error if `dest` did not answer on its own.
template <class T, class Handle, class... Ts>
caf::expected<T> ask_alone(caf::actor_system& sys,
                           caf::scheduler::test_coordinator& sched,
                           const Handle& dest, Ts... xs) {
  using slot = std::optional<caf::expected<T>>;
  auto out = std::make_shared<slot>();
  auto asker = sys.spawn(
    [dest, xs...](caf::event_based_actor* self, std::shared_ptr<slot> o) {
      self->request(dest, caf::infinite, xs...)
        .then([o](T& x) { *o = std::move(x); },
              [o](caf::error& e) { *o = std::move(e); });
    },
    out);
  auto a = caf::actor_cast<caf::abstract_actor*>(asker);
  auto d = caf::actor_cast<caf::abstract_actor*>(dest);
  sched.run_jobs_filtered([a, d](caf::resumable* r) {
    return r == dynamic_cast<caf::resumable*>(a)
           || r == dynamic_cast<caf::resumable*>(d);
  });
  if (!*out) {
    caf::anon_send_exit(asker, caf::exit_reason::kill);
    sched.run_jobs_filtered([a](caf::resumable* r) {
      return r == dynamic_cast<caf::resumable*>(a);
    });
    return caf::make_error(caf::sec::request_timeout,
                           "no answer while only the asked actor ran");
  }
  return std::move(**out);
}

/// Sends `a` an exit message with any reason (anon_send_exit only takes
/// CAF's exit_reason values), e.g. remote_link_unreachable.
inline void send_exit_reason(const caf::actor& a, caf::error reason) {
  if (a)
    a->enqueue(nullptr, caf::make_message_id(),
               caf::make_message(caf::exit_msg{a.address(), std::move(reason)}),
               nullptr);
}

} // namespace chanstate::testing
