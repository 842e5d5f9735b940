// What one soak client sends: steady adds and gets, its storm action, its
// joins, leaves, crashes and reconnects, and the model kept meanwhile.
#include "test/bench/soak_driver.hpp"

#include <algorithm>
#include <random>
#include <string>

#include "test/bench/bench_util.hpp"

namespace chanstate::bench::soak_detail {

void soak_driver::step(client& c, std::int64_t now) {
  switch (c.at) {
    case client::down:
      if (!stopping_ && now >= c.retry_at
          && connecting_ < o_.connect_concurrency)
        connect(c, now);
      return;
    case client::connecting:
    case client::joining:
    case client::busy:
      if (now > c.deadline) {
        ++timeouts_;
        error(c, std::string{"timeout while "}
                   + (c.at == client::connecting ? "connecting"
                      : c.at == client::joining  ? "joining"
                      : c.op == client::op_get   ? "waiting for a get"
                      : c.op == client::op_leave ? "leaving"
                                                 : "waiting for phx_error"));
        if (c.at == client::connecting)
          --connecting_;
        lose_connection(c);
        pool_.drop(c.index, false);
        c.at = client::down;
        c.retry_at = now + 100 * ms;
        return;
      }
      break;
    case client::join_wait:
      if (now >= c.retry_at) {
        send_join(c, now);
        return;
      }
      break;
    case client::ready:
      if (!storm_active_ && !stopping_ && now < end_at_ && now >= c.next_op)
        steady_op(c, now);
      break;
    default:
      return;
  }
  if (c.at != client::connecting && c.at != client::down
      && now - c.last_sent > heartbeat_every)
    send(c, phx_frame({}, next_ref(c), "phoenix", "heartbeat", "{}"), now,
         false);
}

void soak_driver::steady_op(client& c, std::int64_t now) {
  std::uniform_int_distribution<std::int64_t> jitter{period_us_ / 2,
                                                     period_us_ * 3 / 2};
  c.next_op = now + jitter(rng_);
  if (c.acked.size() + c.sent.size() >= c.leave_at) {
    ++steady_leaves_;
    start_leave(c, now);
    return;
  }
  if (std::uniform_int_distribution<int>{0, 9}(rng_) < 7) {
    send_add(c, now);
    return;
  }
  send_get(c, now, false);
}

void soak_driver::after_ready(client& c, std::int64_t now) {
  if (c.storm != storm_id_ || !storm_active_ || c.at != client::ready)
    return;
  auto todo = c.todo;
  c.todo = action::none;
  if (todo == action::none && c.burst_left > 0) {
    // Back-to-back: one add (progress), then the next crash.
    --c.burst_left;
    add_then_crash(c, now);
    return;
  }
  switch (todo) {
    case action::crash:
      c.burst_left = o_.crash_burst - 1;
      // Without the margin every crash follows progress, also the first
      // after a restore: a guard must never act on one.
      if (o_.avoid_guards)
        crash(c, now);
      else
        add_then_crash(c, now);
      return;
    case action::drop: {
      bool reset = (drops_++ % 2) == 1;
      pool_.drop(c.index, reset);
      c.expect = soak_expect::prefix;
      c.at = client::down;
      c.retry_at = now;
      connect(c, now);
      return;
    }
    case action::leave:
      ++storm_leaves_;
      start_leave(c, now);
      return;
    case action::none:
      break;
  }
  if (c.check_due) {
    c.check_due = false;
    send_get(c, now, true);
  }
}

void soak_driver::add_then_crash(client& c, std::int64_t now) {
  send_add(c, now);
  crash(c, now);
}

void soak_driver::send_add(client& c, std::int64_t now) {
  auto v = soak_value(c.index, c.seq++);
  c.sent.push_back(v);
  ++adds_;
  send(c,
       phx_frame(c.jr, next_ref(c), c.topic, "add",
                 "{\"n\":" + std::to_string(v) + "}"),
       now);
}

void soak_driver::crash(client& c, std::int64_t now) {
  c.at = client::busy;
  c.op = client::op_crash;
  c.deadline = now + o_.timeout_ms * ms;
  c.crashed_at = now;
  ++crashes_;
  send(c, phx_frame(c.jr, next_ref(c), c.topic, "oopsy", "{}"), now);
}

void soak_driver::connect(client& c, std::int64_t now) {
  poll_chaos(now);
  c.at = client::connecting;
  c.epoch = kills_seen_;
  c.opened_while_down = node_down();
  c.ref = 0;
  c.jr.clear();
  c.deadline = now + o_.timeout_ms * ms;
  ++connecting_;
  pool_.open(c.index, c.query);
}

void soak_driver::send_join(client& c, std::int64_t now) {
  if (c.joined_once)
    ++rejoins_;
  c.jr = next_ref(c);
  c.at = client::joining;
  c.op = client::op_none;
  c.deadline = now + o_.timeout_ms * ms;
  send(c, phx_frame(c.jr, c.jr, c.topic, "phx_join", "{}"), now);
}

void soak_driver::send_get(client& c, std::int64_t now, bool storm_check) {
  c.at = client::busy;
  c.op = client::op_get;
  c.storm_get = storm_check;
  c.pending_ref = next_ref(c);
  c.deadline = now + o_.timeout_ms * ms;
  ++gets_;
  send(c, phx_frame(c.jr, c.pending_ref, c.topic, "get", "{}"), now);
}

void soak_driver::start_leave(client& c, std::int64_t now) {
  c.at = client::busy;
  c.op = client::op_leave;
  c.pending_ref = next_ref(c);
  c.deadline = now + o_.timeout_ms * ms;
  send(c, phx_frame(c.jr, c.pending_ref, c.topic, "phx_leave", "{}"), now);
}

void soak_driver::send(client& c, std::string text, std::int64_t now,
                       bool event) {
  if (event)
    ++events_;
  c.last_sent = now;
  pool_.send(c.index, std::move(text));
}

void soak_driver::pick_leave_at(client& c) {
  c.leave_at = static_cast<std::size_t>(
    std::uniform_int_distribution<int>{1, std::max(o_.max_ns, 1)}(rng_));
}

void soak_driver::become_ready(client& c, std::int64_t now) {
  c.at = client::ready;
  c.op = client::op_none;
  if (c.storm_get) {
    c.storm_get = false;
    if (storm_active_ && c.storm == storm_id_)
      ++arrived_;
    c.storm = 0;
  }
  after_ready(c, now);
}

void soak_driver::lose_connection(client& c) {
  if (c.at == client::ready || c.at == client::busy) {
    c.expect = c.at == client::busy && c.op == client::op_leave
                 ? soak_expect::unknown
                 : soak_expect::prefix;
    c.storm_get = false;
    c.check_due = c.storm != 0;
  }
}

} // namespace chanstate::bench::soak_detail
