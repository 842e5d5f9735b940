// The recovery client: put, (after_crash: crash, rejoin, put again), then
// armed until the measured crash or kill; rejoin, `get`, classify.
#include "test/bench/recovery_client.hpp"

#include <cstdio>
#include <stdexcept>

#include <chanstate/actors/frames.hpp>
#include "test/bench/in_process_common.hpp"

namespace chanstate::bench::in_process {

namespace json = boost::json;

json::value make_payload(const std::string& kind, std::int64_t i) {
  if (kind == "list100") {
    json::array xs;
    xs.reserve(100);
    for (std::int64_t j = 0; j < 100; ++j)
      xs.push_back(i + j);
    return xs;
  }
  if (kind == "bin1k") {
    char word[9];
    std::snprintf(word, sizeof(word), "%08llx",
                  static_cast<unsigned long long>(i));
    std::string s;
    s.reserve(1024);
    while (s.size() < 1024)
      s.append(word, 8);
    return json::string{s};
  }
  throw std::invalid_argument("--payload must be list100 or bin1k, got "
                              + kind);
}

namespace {

enum class phase : std::uint8_t {
  put_first,   // put A
  crash_first, // after_crash: waiting for the first crash's down
  put_second,  // after_crash: put B on the restored channel
  armed,       // waiting for the measured crash or kill
  recovering,  // rejoined, get sent
  recovered,
  leaving,
  failed, // a join was refused (e.g. the restore timed out): counted, skipped
};

struct recovery_client_state {
  static inline const char* name = "chanstate.bench.recovery_client";
  caf::actor channel;
  phase at = phase::put_first;
  int joins = 0;
  json::value expected;
  json::value stale;
  std::int64_t down_at = 0;
  std::int64_t joined_at = 0;
};

using recovery_ptr = caf::stateful_actor<recovery_client_state>*;

bool rejoin(recovery_ptr self, recovery_run& run, std::size_t i) {
  auto& st = self->state;
  auto ch = join_channel(self->system(), run.env,
                         join_request{run.prefix + std::to_string(i),
                                      "c" + std::to_string(i),
                                      std::to_string(++st.joins),
                                      {},
                                      caf::actor_cast<caf::actor>(self)});
  if (!ch)
    return false;
  st.channel = *ch;
  self->monitor(*ch);
  return true;
}

void put_items(recovery_ptr self, const json::value& v, const char* ref) {
  self->send(self->state.channel, event(ref, "put", {{"items", v}}));
}

outcome classify(const recovery_client_state& st, const json::object& reply) {
  auto resp = reply.if_contains("response");
  const json::value* items = nullptr;
  if (resp && resp->is_object())
    items = resp->get_object().if_contains("items");
  if (!items || items->is_null())
    return outcome::lost;
  if (*items == st.expected)
    return outcome::ok;
  if (!st.stale.is_null() && *items == st.stale)
    return outcome::stale;
  return outcome::other;
}

void arm(recovery_ptr self, recovery_run& run, std::size_t i) {
  self->state.at = phase::armed;
  run.channels[i] = self->state.channel;
  run.ready.arrive();
}

caf::behavior recovery_client(recovery_ptr self,
                              std::shared_ptr<recovery_run> run,
                              std::size_t i) {
  auto& st = self->state;
  st.expected = make_payload(run->payload, static_cast<std::int64_t>(i));
  if (run->after_crash) {
    st.stale = st.expected;
    st.expected = make_payload(run->payload,
                               static_cast<std::int64_t>(i) + 1'000'000);
  }
  if (!rejoin(self, *run, i)) {
    ++run->bad;
    run->ready.arrive();
    self->quit();
    return {};
  }
  put_items(self, run->after_crash ? st.stale : st.expected, "p1");
  self->set_down_handler([self, run, i](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.channel.address())
      return;
    switch (st.at) {
      case phase::crash_first:
        st.at = phase::put_second;
        if (!rejoin(self, *run, i)) {
          ++run->bad;
          return;
        }
        put_items(self, st.expected, "p2");
        return;
      case phase::armed:
        st.down_at = now_us();
        if (!run->rejoin) {
          run->gone.arrive();
          self->quit();
          return;
        }
        st.at = phase::recovering;
        if (!rejoin(self, *run, i)) {
          ++run->bad;
          return;
        }
        // Sent at once: the channel holds it until the restore is done.
        self->send(st.channel, event("g", "get", {}));
        return;
      case phase::leaving:
        run->gone.arrive();
        self->quit();
        return;
      case phase::failed:
      case phase::recovered:
        return; // the refused channel's own down
      default:
        ++run->bad;
    }
  });
  return {
    [self, run, i](outbound_frame& f) {
      auto& st = self->state;
      if (f.kind == frame_kind::join_ok) {
        if (st.at == phase::recovering)
          st.joined_at = now_us();
        return;
      }
      if (f.kind == frame_kind::join_error) {
        ++run->bad;
        if (st.at == phase::recovering) {
          run->samples[i].result = outcome::other;
          st.at = phase::failed;
          run->done.arrive();
          return;
        }
        if (st.at == phase::failed || st.at == phase::recovered)
          return;
        // Refused before it was armed: it takes no part in the measurement.
        st.at = phase::failed;
        run->samples[i].result = outcome::other;
        run->ready.arrive();
        run->done.arrive();
        if (!run->rejoin)
          run->gone.arrive();
        return;
      }
      if (f.kind != frame_kind::reply) {
        ++run->bad;
        return;
      }
      if (st.at == phase::put_first && f.ref == "p1") {
        if (run->after_crash) {
          st.at = phase::crash_first;
          self->send(st.channel, event({}, "oopsy", {}));
        } else {
          arm(self, *run, i);
        }
      } else if (st.at == phase::put_second && f.ref == "p2") {
        arm(self, *run, i);
      } else if (st.at == phase::recovering && f.ref == "g") {
        auto t = now_us();
        auto t0 = run->t0.load(std::memory_order_acquire);
        auto& s = run->samples[i];
        s.total_us = t - t0;
        s.down_us = st.down_at - t0;
        s.rejoin_us = st.joined_at - st.down_at;
        s.get_us = t - st.joined_at;
        s.result = classify(st, f.payload.value);
        st.at = phase::recovered;
        run->done.arrive();
      } else {
        ++run->bad;
      }
    },
    [self, run](caf::leave_atom) {
      if (self->state.at == phase::failed) {
        run->gone.arrive();
        self->quit();
        return;
      }
      self->state.at = phase::leaving;
      self->send(self->state.channel, caf::leave_atom::value, std::string{});
    },
  };
}

} // namespace

std::vector<caf::actor> arm_clients(caf::actor_system& sys,
                                    const std::shared_ptr<recovery_run>& run,
                                    std::size_t n) {
  std::vector<caf::actor> clients;
  clients.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    clients.push_back(sys.spawn(recovery_client, run, i));
  await(run->ready, "channels with their state");
  return clients;
}

void fire(recovery_run& run, trigger how) {
  run.t0.store(now_us(), std::memory_order_release);
  if (how == trigger::crash) {
    for (auto& ch : run.channels)
      if (ch)
        caf::anon_send(ch, event({}, "oopsy", {}));
  } else {
    for (auto& ch : run.channels)
      if (ch)
        caf::anon_send_exit(ch, caf::exit_reason::kill);
  }
}

} // namespace chanstate::bench::in_process
