// The steady scenario: one client actor per channel sends its adds in
// batches, each closed by a timed `get`; events/s with write-through ON and
// OFF (and with the journal, durable or async acks), alternating so drift
// on a shared machine hits both alike. Results go into pre-sized slots and
// latches, so the measured path pays for no scoped_actor round trips.
#include "test/bench/in_process.hpp"

#include <algorithm>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/registry/journal_actor.hpp>
#include "test/bench/in_process_common.hpp"

namespace chanstate::bench {

using namespace in_process;

namespace {

namespace json = boost::json;

using go_atom = caf::atom_constant<caf::atom("b_go")>;

struct steady_run {
  channel_env env;
  std::int64_t events = 0; // adds per channel
  std::int64_t every = 10; // a get after this many adds
  bool demo = true;        // false: bench channel, each event replaces one int
  std::string prefix;
  latch ready;
  latch done;
  latch gone;
  std::atomic<std::size_t> bad{0};
  // Per client (each writes only its own): µs from sending a batch's get to
  // its reply, i.e. what a client waits for an acknowledgement.
  std::vector<std::vector<std::int64_t>> latency_us;

  steady_run(std::size_t n) : ready(n), done(n), gone(n), latency_us(n) {
  }
};

struct steady_client_state {
  static inline const char* name = "chanstate.bench.steady_client";
  caf::actor channel;
  std::int64_t sent = 0;
  std::uint64_t ref = 0;
  std::size_t index = 0;
  std::int64_t get_sent_us = 0;
};

using steady_ptr = caf::stateful_actor<steady_client_state>*;

// Checks a get reply: ns holds n elements (all of 1..n in order when
// `full`). The list may come shared with the channel's assigns
// (json_payload::shared): it is read where it lies, as a transport writes
// it out, not copied first.
bool ns_is_prefix(const json_payload& payload, std::int64_t n, bool full) {
  auto resp = payload.value.if_contains("response");
  if (!resp || !resp->is_object())
    return false;
  if (auto items = resp->get_object().if_contains("items"))
    return items->is_int64() && items->get_int64() == n; // bench channel
  std::vector<const json::array*> parts;
  const shared_list* list = nullptr;
  if (payload.shared && payload.shared->in == "response")
    for (const auto& l : payload.shared->lists)
      if (l.key == "ns")
        list = &l;
  if (list) {
    for (const auto& p : list->parts)
      if (p && p->is_array())
        parts.push_back(&p->get_array());
  } else {
    auto ns = resp->get_object().if_contains("ns");
    if (!ns || !ns->is_array())
      return false;
    parts.push_back(&ns->get_array());
  }
  std::int64_t size = 0;
  for (auto* p : parts)
    size += static_cast<std::int64_t>(p->size());
  if (size != n)
    return false;
  if (!full)
    return true;
  std::int64_t want = 1;
  for (auto* p : parts)
    for (const auto& x : *p)
      if (!x.is_int64() || x.get_int64() != want++)
        return false;
  return true;
}

// One client event as a transport builds it after parsing a frame: the
// payload object with its one field, built in place (no initializer list of
// value_refs to convert).
client_event one_field_event(const std::string& name, const char* field,
                             std::int64_t n) {
  client_event ev{{}, name, {}};
  ev.payload.value.reserve(1);
  ev.payload.value.emplace(field, n);
  return ev;
}

void send_batch(steady_ptr self, steady_run& run) {
  static const std::string add = "add", put = "put";
  auto& st = self->state;
  auto batch = std::min(run.every, run.events - st.sent);
  for (std::int64_t j = 0; j < batch; ++j) {
    if (run.demo)
      self->send(st.channel, one_field_event(add, "n", ++st.sent));
    else
      self->send(st.channel, one_field_event(put, "items", ++st.sent));
  }
  st.get_sent_us = now_us();
  self->send(st.channel, event(std::to_string(++st.ref), "get", {}));
}

caf::behavior steady_client(steady_ptr self, std::shared_ptr<steady_run> run,
                            std::size_t i) {
  auto ch = join_channel(self->system(), run->env,
                         join_request{run->prefix + std::to_string(i),
                                      "c" + std::to_string(i), "1",
                                      {},
                                      caf::actor_cast<caf::actor>(self)});
  if (!ch) {
    ++run->bad;
    run->ready.arrive();
    run->done.arrive();
    run->gone.arrive();
    self->quit();
    return {};
  }
  self->state.channel = *ch;
  self->state.index = i;
  // One sample per get: no reallocation on the measured path.
  run->latency_us[i].reserve(
    static_cast<std::size_t>(run->events / run->every + 1));
  self->monitor(*ch);
  self->set_down_handler([self, run](caf::down_msg& dm) {
    if (dm.source == self->state.channel.address()) {
      run->gone.arrive();
      self->quit();
    }
  });
  return {
    [self, run](outbound_frame& f) {
      auto& st = self->state;
      switch (f.kind) {
        case frame_kind::join_ok:
          run->ready.arrive();
          break;
        case frame_kind::reply: {
          run->latency_us[st.index].push_back(now_us() - st.get_sent_us);
          bool last = st.sent >= run->events;
          if (!ns_is_prefix(f.payload, st.sent, last))
            ++run->bad;
          if (last)
            run->done.arrive();
          else
            send_batch(self, *run);
          break;
        }
        default:
          ++run->bad;
          run->ready.arrive();
      }
    },
    [self, run](go_atom) { send_batch(self, *run); },
    [self](caf::leave_atom) {
      self->send(self->state.channel, caf::leave_atom::value, std::string{});
    },
  };
}

struct steady_figures {
  double cpu_us_per_event = 0;
  double events_per_s = 0;
  std::int64_t elapsed_us = 0;
  double joins_per_s = 0;
  std::size_t bad = 0;
  std::int64_t p50_us = 0, p99_us = 0; // get round trips
  json::object journal; // the writer's counters (batches, syncs)
};

steady_figures steady_once(caf::actor_system& sys, std::size_t n,
                           std::int64_t m, std::int64_t every,
                           bool write_through, bool pubsub, bool demo,
                           const std::string& tag,
                           const std::string& journal_dir = {},
                           ack_mode ack = ack_mode::durable) {
  node nd{sys, write_through, pubsub, 0,
          journal_dir.empty() ? journal_dir : journal_dir + "/" + tag};
  nd.env.journal = nd.journal_sync;
  nd.env.ack = ack;
  auto run = std::make_shared<steady_run>(n);
  run->demo = demo;
  run->env = nd.env;
  run->events = m;
  run->every = std::max<std::int64_t>(every, 1);
  run->prefix = (demo ? "room:" : "bench:") + tag + ":";
  std::vector<caf::actor> clients;
  clients.reserve(n);
  auto tj0 = now_us();
  for (std::size_t i = 0; i < n; ++i)
    clients.push_back(sys.spawn(steady_client, run, i));
  await(run->ready, "steady joins");
  auto tj1 = run->ready.last_us();
  auto cpu0 = cpu_seconds();
  auto t0 = now_us();
  for (auto& c : clients)
    caf::anon_send(c, go_atom::value);
  await(run->done, "steady events");
  // With a journal the run ends when the journal has caught up, not before.
  nd.journal_barrier(sys);
  auto t1 = nd.journal ? now_us() : run->done.last_us();
  json::object journal_counters;
  if (nd.journal) {
    caf::scoped_actor self{sys};
    self->request(nd.journal, caf::infinite, journal_atom::value)
      .receive([&](std::string& s) {
                 journal_counters = json::parse(s).as_object();
               },
               [](caf::error&) {});
  }
  auto cpu1 = cpu_seconds();
  for (auto& c : clients)
    caf::anon_send(c, caf::leave_atom::value);
  await(run->gone, "steady leaves");
  clients.clear();
  nd.await_table(sys, 0, 0);
  steady_figures out;
  out.elapsed_us = t1 - t0;
  out.events_per_s = static_cast<double>(n) * static_cast<double>(m) * 1e6
                     / static_cast<double>(std::max<std::int64_t>(t1 - t0, 1));
  out.joins_per_s = static_cast<double>(n) * 1e6
                    / static_cast<double>(std::max<std::int64_t>(tj1 - tj0, 1));
  out.bad = run->bad.load();
  out.cpu_us_per_event = (cpu1 - cpu0) * 1e6
                         / (static_cast<double>(n) * static_cast<double>(m));
  std::vector<std::int64_t> all;
  for (auto& xs : run->latency_us)
    all.insert(all.end(), xs.begin(), xs.end());
  std::sort(all.begin(), all.end());
  out.p50_us = percentile(all, 50);
  out.p99_us = percentile(all, 99);
  out.journal = std::move(journal_counters);
  return out;
}

} // namespace

json::object run_steady(caf::actor_system& sys, const options& opts) {
  auto n = static_cast<std::size_t>(opts.num("channels", 1000));
  auto m = opts.num("events", 1000);
  auto every = opts.num("every", 10);
  auto rounds = std::max<std::int64_t>(opts.num("rounds", 1), 1);
  bool pubsub = with_pubsub(opts);
  auto kind = opts.str("channel", "demo");
  if (kind != "demo" && kind != "bench")
    throw std::invalid_argument("--channel must be demo or bench, got "
                                + kind);
  bool demo = kind == "demo";
  if (opts.num("warmup", 1) != 0) {
    std::cerr << "steady: warm-up\n";
    steady_once(sys, std::min<std::size_t>(n, 100), std::min<std::int64_t>(m, 100),
                every, true, pubsub, demo, "w1");
    steady_once(sys, std::min<std::size_t>(n, 100), std::min<std::int64_t>(m, 100),
                every, false, pubsub, demo, "w2");
  }
  other_cpu_meter meter;
  // ON and OFF alternate (and swap order every round) so that drift on a
  // shared machine hits both alike; with several rounds the medians are
  // reported.
  auto journal = opts.str("journal", "");
  // With the journal: durable acknowledgements, async ones, or both
  // alternating in each round (an A/B in one sitting).
  auto ack = opts.str("ack", "durable");
  if (ack != "durable" && ack != "async" && ack != "both")
    throw std::invalid_argument("--ack must be durable, async or both, got "
                                + ack);
  std::vector<double> on, off, joins, cpu_on, cpu_off, with_journal,
    with_journal_async;
  std::vector<double> p50_j, p99_j, p50_ja, p99_ja, p50_on, p99_on;
  std::vector<double> cpu_j, cpu_ja, pair_ratios;
  std::size_t bad = 0;
  for (std::int64_t r = 0; r < rounds; ++r) {
    // ON and OFF swap places every round: the first run of a round starts
    // right after the last one's teardown (a thousand channels ending, the
    // allocator returning memory), so neither always takes that.
    auto run_wt = [&](bool on) {
      std::cerr << "steady: " << n << " channels x " << m
                << " events, write-through " << (on ? "ON" : "OFF") << '\n';
      auto x = steady_once(sys, n, m, every, on, pubsub, demo,
                           (on ? "on" : "off") + std::to_string(r));
      std::cerr << "steady:   " << rounded(x.events_per_s) << " events/s\n";
      return x;
    };
    steady_figures a, b;
    if (r % 2 == 0) {
      a = run_wt(true);
      b = run_wt(false);
    } else {
      b = run_wt(false);
      a = run_wt(true);
    }
    // With --ack=both the two journal runs swap places every round, so
    // neither always runs on a warmer (or busier) machine.
    auto journal_run = [&](ack_mode mode) {
      bool durable = mode == ack_mode::durable;
      std::cerr << "steady: write-through ON with the journal in " << journal
                << ", --ack=" << (durable ? "durable" : "async") << '\n';
      auto c = steady_once(sys, n, m, every, true, pubsub, demo,
                           (durable ? "journal" : "journal_async")
                             + std::to_string(r),
                           journal, mode);
      std::cerr << "steady:   " << rounded(c.events_per_s)
                << " events/s, get p50 " << ms(c.p50_us) << " ms, p99 "
                << ms(c.p99_us) << " ms, cpu " << c.cpu_us_per_event
                << " us/event\n";
      std::cerr << "steady:   journal " << json::serialize(c.journal) << '\n';
      (durable ? with_journal : with_journal_async).push_back(c.events_per_s);
      (durable ? cpu_j : cpu_ja).push_back(c.cpu_us_per_event);
      (durable ? p50_j : p50_ja).push_back(static_cast<double>(c.p50_us));
      (durable ? p99_j : p99_ja).push_back(static_cast<double>(c.p99_us));
      bad += c.bad;
    };
    if (!journal.empty()) {
      std::vector<ack_mode> order;
      if (ack != "async")
        order.push_back(ack_mode::durable);
      if (ack != "durable")
        order.push_back(ack_mode::async);
      if (r % 2 == 1)
        std::reverse(order.begin(), order.end());
      for (auto mode : order)
        journal_run(mode);
      if (order.size() == 2)
        pair_ratios.push_back(with_journal.back() / with_journal_async.back());
    }
    on.push_back(a.events_per_s);
    p50_on.push_back(static_cast<double>(a.p50_us));
    p99_on.push_back(static_cast<double>(a.p99_us));
    off.push_back(b.events_per_s);
    joins.push_back(a.joins_per_s);
    cpu_on.push_back(a.cpu_us_per_event);
    cpu_off.push_back(b.cpu_us_per_event);
    bad += a.bad + b.bad;
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    auto k = v.size() / 2;
    return v.size() % 2 ? v[k] : (v[k - 1] + v[k]) / 2;
  };
  auto x_on = median(on), x_off = median(off);
  json::object out{
    {"scenario", "steady"},
    {"channel", kind},
    {"channels", n},
    {"events", m},
    {"get_every", every},
    {"rounds", rounds},
    {"events_per_s_on", rounded(x_on)},
    {"events_per_s_off", rounded(x_off)},
    {"ratio_on_off", x_on / x_off},
    {"joins_per_s", rounded(median(joins))},
    {"cpu_us_per_event_on", median(cpu_on)},
    {"cpu_us_per_event_off", median(cpu_off)},
    {"errors", bad},
    {"pubsub", pubsub},
    {"other_cpu_pct", meter.percent()},
  };
  auto ms_of = [&](const std::vector<double>& v) {
    return ms(static_cast<std::int64_t>(median(v)));
  };
  out["get_p50_ms_on"] = ms_of(p50_on);
  out["get_p99_ms_on"] = ms_of(p99_on);
  if (!journal.empty()) {
    out["journal"] = journal;
    out["ack"] = ack;
  }
  if (!with_journal.empty()) {
    auto x_j = median(with_journal);
    out["events_per_s_journal"] = rounded(x_j);
    out["ratio_journal_on"] = x_j / x_on;
    out["get_p50_ms_journal"] = ms_of(p50_j);
    out["get_p99_ms_journal"] = ms_of(p99_j);
    out["cpu_us_per_event_journal"] = median(cpu_j);
  }
  if (!with_journal_async.empty()) {
    auto x_a = median(with_journal_async);
    out["events_per_s_journal_async"] = rounded(x_a);
    out["get_p50_ms_journal_async"] = ms_of(p50_ja);
    out["get_p99_ms_journal_async"] = ms_of(p99_ja);
    out["cpu_us_per_event_journal_async"] = median(cpu_ja);
    if (!with_journal.empty()) {
      out["ratio_durable_async"] = median(with_journal) / x_a;
      // The median of each round's durable/async pair: drift between
      // rounds cancels out.
      out["ratio_durable_async_pairs"] = median(pair_ratios);
    }
  }
  return out;
}

} // namespace chanstate::bench
