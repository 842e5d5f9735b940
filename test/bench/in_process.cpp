// In-process scenarios: one lightweight transport actor per channel plays
// the client; results go into pre-sized slots and latches, so no scenario
// pays for scoped_actor round trips on its measured path (caf notes §6).
#include "test/bench/in_process.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/registry/journal_store.hpp>
#include <chanstate/registry/registry_actor.hpp>
#include <chanstate/registry/registry_error.hpp>
#include "test/bench/bench_channel.hpp"

namespace chanstate::bench {

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

using go_atom = caf::atom_constant<caf::atom("b_go")>;

// Two minutes, or 1 ms per arrival for big runs: a million joins on a
// shared 2-core machine take minutes, and a phase that is only slow must
// still end in its figure.
std::chrono::milliseconds phase_timeout(std::size_t arrivals) {
  return std::max(std::chrono::milliseconds{120'000},
                  std::chrono::milliseconds{arrivals});
}

/// Fails the run loudly; the caller prints the reason and exits non-zero.
struct bench_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void await(latch& l, const char* what) {
  if (!l.wait(phase_timeout(l.target())))
    throw bench_failure{std::string{"timed out waiting for "} + what + " ("
                        + std::to_string(l.count()) + " arrived)"};
}

/// Registry, pubsub and routes of one measured system.
struct node {
  std::shared_ptr<backup_table> table;
  channel_env env;

  caf::actor journal;  // the journal writer, with --journal
  std::shared_ptr<journal_waiter> journal_sync;
  std::string journal_dir;

  node(caf::actor_system& sys, bool write_through, bool with_pubsub,
       std::size_t max_backups, const std::string& journal_at = {},
       std::chrono::milliseconds pack_after = registry_config{}.pack_after) {
    registry_config rc;
    rc.pack_after = pack_after;
    // Nothing may expire or be evicted while a scenario runs.
    rc.backup_ttl = std::chrono::minutes{30};
    rc.max_backups = std::max(max_backups, rc.max_backups);
    rc.max_backup_bytes = std::size_t{64} << 30;
    table = std::make_shared<backup_table>(rc);
    if (!journal_at.empty()) {
      // A fresh journal per run, so every run starts from an empty file.
      journal_dir = journal_at;
      std::filesystem::remove_all(journal_dir);
      auto store = journal_store::open(journal_dir);
      if (!store)
        throw bench_failure{"journal: " + describe(store.error())};
      auto j = spawn_journal(sys, std::move(*store), {});
      table->set_observer(j.observer);
      journal = j.writer;
      journal_sync = j.waiter;
    }
    auto routes = std::make_shared<router>();
    if (auto err = routes->add("room:*", demo_channel_factory()))
      throw bench_failure{"route room:*"};
    if (auto err = routes->add("bench:*", bench_channel_factory()))
      throw bench_failure{"route bench:*"};
    env.registry = spawn_registry(sys, table);
    if (with_pubsub)
      env.pubsub = spawn_pubsub(sys);
    env.routes = std::move(routes);
    env.write_through = write_through;
  }

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Returns once everything committed so far is in the journal.
  void journal_barrier(caf::actor_system& sys) const {
    if (!journal)
      return;
    caf::scoped_actor self{sys};
    self->request(journal, caf::infinite, caf::flush_atom::value)
      .receive([] {},
               [&](caf::error& err) {
                 throw bench_failure{"journal flush: " + describe(err)};
               });
  }

  ~node() {
    if (journal) {
      caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
      std::error_code ec;
      std::filesystem::remove_all(journal_dir, ec);
    }
    caf::anon_send_exit(env.registry, caf::exit_reason::user_shutdown);
    if (env.pubsub)
      caf::anon_send_exit(env.pubsub, caf::exit_reason::user_shutdown);
  }

  /// Registry stats, polled only outside measured phases.
  json::object stats(caf::actor_system& sys) const {
    caf::scoped_actor self{sys};
    json::object out;
    // Behind a million queued down messages the answer takes a while.
    self->request(env.registry, 120s, stats_atom::value)
      .receive([&](std::string& s) { out = json::parse(s).as_object(); },
               [&](caf::error& err) {
                 throw bench_failure{"registry stats: " + sys.render(err)};
               });
    return out;
  }

  /// Waits until the registry tracks `live` channels and holds `backups`.
  void await_table(caf::actor_system& sys, std::size_t live,
                   std::size_t backups) const {
    auto deadline = std::chrono::steady_clock::now()
                    + phase_timeout(std::max(live, backups));
    while (std::chrono::steady_clock::now() < deadline) {
      auto s = stats(sys);
      if (s["live_channels"].to_number<std::size_t>() == live
          && s["backups"].to_number<std::size_t>() == backups)
        return;
      std::this_thread::sleep_for(50ms);
    }
    throw bench_failure{"registry did not settle at live=" + std::to_string(live)
                        + " backups=" + std::to_string(backups)};
  }
};

bool with_pubsub(const options& opts) {
  return opts.num("pubsub", 1) != 0;
}

client_event event(std::string ref, std::string name, json::object payload) {
  return client_event{std::move(ref), std::move(name), {std::move(payload)}};
}

// ---------------------------------------------------------------- steady ---

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

// ---------------------------------------------- recover / kill / memory ---

enum class trigger { crash, kill };

enum class outcome : std::uint8_t { pending, ok, stale, lost, other };

struct recovery_sample {
  std::int64_t total_us = 0;  // trigger → correct get reply
  std::int64_t down_us = 0;   // trigger → client saw the channel down
  std::int64_t rejoin_us = 0; // down → join reply
  std::int64_t get_us = 0;    // join reply → get reply
  outcome result = outcome::pending;
};

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

struct recovery_run {
  channel_env env;
  std::string payload;
  std::string prefix;
  bool after_crash = false; // crash once, rejoin, change, then trigger
  bool rejoin = true;       // false: the memory scenario only wants backups
  std::vector<caf::actor> channels; // slot i written by client i before ready
  std::vector<recovery_sample> samples;
  std::atomic<std::int64_t> t0{0};
  latch ready;
  latch done;
  latch gone;
  std::atomic<std::size_t> bad{0};

  explicit recovery_run(std::size_t n)
    : channels(n), samples(n), ready(n), done(n), gone(n) {
  }
};

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

/// Spawns `n` clients that each put their payload; returns once all are armed.
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

// Profiles only the measured storm: with CHANSTATE_BENCH_PERF_CTL naming
// the control FIFO of `perf record -D -1 --control=fifo:FIFO` (or `perf
// stat`), sampling is switched on at the trigger and off after the last
// recovery, so set-up, warm-up and leaves stay out of the profile.
class perf_window {
public:
  explicit perf_window(bool measured) {
    const char* fifo = std::getenv("CHANSTATE_BENCH_PERF_CTL");
    if (!fifo || !measured)
      return;
    out_ = std::fopen(fifo, "w");
    say("enable\n");
  }

  void close() {
    if (!out_)
      return;
    say("disable\n");
    std::fclose(out_);
    out_ = nullptr;
  }

  ~perf_window() {
    close();
  }

  perf_window(const perf_window&) = delete;
  perf_window& operator=(const perf_window&) = delete;

private:
  void say(const char* cmd) {
    if (!out_)
      return;
    std::fputs(cmd, out_);
    std::fflush(out_);
  }

  std::FILE* out_ = nullptr;
};

struct recovery_figures {
  std::size_t n = 0;
  double recoveries_per_s = 0;
  std::int64_t p50_us = 0, p99_us = 0, max_us = 0;
  std::int64_t down_p50_us = 0, rejoin_p50_us = 0, get_p50_us = 0;
  std::int64_t trigger_us = 0;
  double cpu_s = 0; // process CPU from the trigger to the last recovery
  std::size_t ok = 0, lost = 0, stale = 0, other = 0, bad = 0;
};

recovery_figures recovery_once(caf::actor_system& sys, std::size_t n,
                               const std::string& payload, trigger how,
                               bool after_crash, bool pubsub,
                               const std::string& tag) {
  node nd{sys, true, pubsub, n};
  auto run = std::make_shared<recovery_run>(n);
  run->env = nd.env;
  run->payload = payload;
  run->prefix = "bench:" + tag + ":";
  run->after_crash = after_crash;
  auto clients = arm_clients(sys, run, n);
  perf_window window{tag == "m"};
  auto cpu0 = cpu_seconds();
  fire(*run, how);
  auto fired = now_us();
  await(run->done, "recoveries");
  recovery_figures out;
  out.cpu_s = cpu_seconds() - cpu0;
  window.close();
  out.n = n;
  out.trigger_us = fired - run->t0.load();
  for (auto& c : clients)
    caf::anon_send(c, caf::leave_atom::value);
  await(run->gone, "leaves");
  clients.clear();
  run->channels.clear();
  nd.await_table(sys, 0, 0);
  std::vector<std::int64_t> total, down, join, get;
  for (const auto& s : run->samples) {
    total.push_back(s.total_us);
    down.push_back(s.down_us);
    join.push_back(s.rejoin_us);
    get.push_back(s.get_us);
    switch (s.result) {
      case outcome::ok:
        ++out.ok;
        break;
      case outcome::lost:
        ++out.lost;
        break;
      case outcome::stale:
        ++out.stale;
        break;
      default:
        ++out.other;
    }
  }
  for (auto* v : {&total, &down, &join, &get})
    std::sort(v->begin(), v->end());
  out.max_us = total.empty() ? 0 : total.back();
  out.recoveries_per_s = static_cast<double>(n) * 1e6
                         / static_cast<double>(std::max<std::int64_t>(
                           out.max_us, 1));
  out.p50_us = percentile(total, 50);
  out.p99_us = percentile(total, 99);
  out.down_p50_us = percentile(down, 50);
  out.rejoin_p50_us = percentile(join, 50);
  out.get_p50_us = percentile(get, 50);
  out.bad = run->bad.load();
  return out;
}

double ms(std::int64_t us) {
  return static_cast<double>(us) / 1000.0;
}

std::int64_t rounded(double x) {
  return static_cast<std::int64_t>(x + 0.5);
}

json::object recovery_json(const recovery_figures& f) {
  return {
    {"recoveries_per_s", rounded(f.recoveries_per_s)},
    {"p50_ms", ms(f.p50_us)},
    {"p99_ms", ms(f.p99_us)},
    {"max_ms", ms(f.max_us)},
    {"down_p50_ms", ms(f.down_p50_us)},
    {"rejoin_p50_ms", ms(f.rejoin_p50_us)},
    {"get_p50_ms", ms(f.get_p50_us)},
    {"trigger_ms", ms(f.trigger_us)},
    {"cpu_us_per_recovery",
     rounded(f.cpu_s * 1e6 / static_cast<double>(std::max<std::size_t>(f.n, 1)))},
    {"restored_ok", f.ok},
    {"lost", f.lost},
    {"stale", f.stale},
    {"other", f.other},
    {"errors", f.bad},
  };
}

std::size_t warmup_size(const options& opts, std::size_t n) {
  if (opts.num("warmup", 1) == 0)
    return 0;
  return std::min<std::size_t>(n / 10 + 1, 1000);
}

json::object run_recovery_scenario(caf::actor_system& sys,
                                   const options& opts, const char* name,
                                   trigger how) {
  auto n = static_cast<std::size_t>(opts.num("channels", 10'000));
  auto payload = opts.str("payload", "list100");
  bool after_crash = how == trigger::kill && opts.flag("after-crash");
  bool pubsub = with_pubsub(opts);
  make_payload(payload, 0); // validates --payload before anything runs
  if (auto w = warmup_size(opts, n)) {
    std::cerr << name << ": warm-up with " << w << " channels\n";
    recovery_once(sys, w, payload, how, after_crash, pubsub, "warm");
  }
  std::cerr << name << ": " << n << " channels, payload " << payload
            << (after_crash ? ", killed after an earlier crash" : "") << '\n';
  other_cpu_meter meter;
  auto f = recovery_once(sys, n, payload, how, after_crash, pubsub, "m");
  json::object out{{"scenario", name},
                   {"channels", n},
                   {"payload", payload}};
  if (how == trigger::kill)
    out["after_crash"] = after_crash;
  for (auto& kv : recovery_json(f))
    out.emplace(kv.key(), kv.value());
  out["pubsub"] = pubsub;
  out["other_cpu_pct"] = meter.percent();
  std::cerr << name << ": " << rounded(f.recoveries_per_s)
            << " recoveries/s, p50 " << ms(f.p50_us) << " ms, p99 "
            << ms(f.p99_us) << " ms, lost " << f.lost << ", stale "
            << f.stale << '\n';
  return out;
}

// ---------------------------------------------------------------- memory ---

/// The one transport of every idle channel: counts join replies.
caf::behavior sink(caf::event_based_actor*, std::shared_ptr<latch> joined) {
  return {
    [joined](outbound_frame& f) {
      if (f.kind == frame_kind::join_ok)
        joined->arrive();
    },
  };
}

/// The transport of the channels that restore every backup: counts join
/// replies and the ones that did not restore.
caf::behavior restore_sink(caf::event_based_actor*,
                           std::shared_ptr<latch> joined,
                           std::shared_ptr<std::atomic<std::size_t>> fresh) {
  return {
    [joined, fresh](outbound_frame& f) {
      if (f.kind != frame_kind::join_ok && f.kind != frame_kind::join_error)
        return;
      const json::value* r = nullptr;
      if (auto resp = f.payload.value.if_contains("response");
          resp && resp->is_object())
        r = resp->get_object().if_contains("restored");
      if (f.kind != frame_kind::join_ok || !r || *r != true)
        ++*fresh;
      joined->arrive();
    },
  };
}

/// Waits until the registry holds every backup packed (or packs no more).
std::int64_t await_packed(caf::actor_system& sys, node& nd, std::size_t n) {
  auto t0 = now_us();
  std::uint64_t last = 0;
  auto last_change = t0;
  for (;;) {
    auto st = nd.stats(sys);
    // Backups that packing would not shrink stay hot and count as done.
    auto packed = st["packed_backups"].to_number<std::uint64_t>()
                  + st["packing"].at("kept_hot").to_number<std::uint64_t>();
    if (packed >= n)
      return now_us() - t0;
    if (packed != last) {
      last = packed;
      last_change = now_us();
    } else if (now_us() - last_change > 30'000'000) {
      throw bench_failure{"packing stalled at " + std::to_string(packed)
                          + " of " + std::to_string(n)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
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
  // ON and OFF alternate so that drift on a shared machine hits both alike;
  // with several rounds the medians are reported.
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
    std::cerr << "steady: " << n << " channels x " << m
              << " events, write-through ON\n";
    auto a = steady_once(sys, n, m, every, true, pubsub, demo,
                         "on" + std::to_string(r));
    std::cerr << "steady:   " << rounded(a.events_per_s) << " events/s\n";
    std::cerr << "steady: write-through OFF\n";
    auto b = steady_once(sys, n, m, every, false, pubsub, demo,
                         "off" + std::to_string(r));
    std::cerr << "steady:   " << rounded(b.events_per_s) << " events/s\n";
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

json::object run_recover(caf::actor_system& sys, const options& opts) {
  return run_recovery_scenario(sys, opts, "recover", trigger::crash);
}

json::object run_kill(caf::actor_system& sys, const options& opts) {
  return run_recovery_scenario(sys, opts, "kill", trigger::kill);
}

json::object run_memory(caf::actor_system& sys, const options& opts) {
  auto started = now_us();
  auto stage = [started](const char* what) {
    std::cerr << "memory: " << what << " at "
              << (now_us() - started) / 1000 << " ms\n";
  };
  auto n = static_cast<std::size_t>(opts.num("backups", 100'000));
  auto payload = opts.str("payload", "list100");
  bool pubsub = with_pubsub(opts);
  make_payload(payload, 0);
  // 0 keeps every backup hot (pointer-shared): the A/B of packing.
  std::chrono::milliseconds pack_after{
    opts.num("pack-after-ms", registry_config{}.pack_after.count())};
  node nd{sys, true, pubsub, n, {}, pack_after};
  // Not timed: a 100 000-join storm must not hit the 10 s restore timeout
  // on a busy machine (the recovery scenarios keep the node's default).
  nd.env.restore_timeout = std::chrono::minutes{5};
  json::object out{{"scenario", "memory"}, {"backups", n}, {"payload", payload}};

  // 1. N idle live channels (fresh demo channels), one shared transport.
  settle(300);
  auto rss0 = resident_bytes();
  auto heap0 = heap_in_use_bytes();
  auto joined = std::make_shared<latch>(n);
  auto transport = sys.spawn(sink, joined);
  std::vector<caf::actor> idle;
  idle.reserve(n);
  std::cerr << "memory: " << n << " idle channels\n";
  for (std::size_t i = 0; i < n; ++i) {
    auto ch = join_channel(sys, nd.env,
                           join_request{"room:idle:" + std::to_string(i),
                                        "c" + std::to_string(i), "1",
                                        {},
                                        transport});
    if (!ch)
      throw bench_failure{"idle join failed"};
    idle.push_back(std::move(*ch));
  }
  await(*joined, "idle joins");
  stage("idle channels joined");
  settle(500);
  auto rss1 = resident_bytes();
  auto heap1 = heap_in_use_bytes();
  // The handles this scenario holds are not part of a channel's cost.
  auto handles = idle.capacity() * sizeof(caf::actor);
  out["bytes_per_channel"] = rounded(
    (static_cast<double>(rss1) - static_cast<double>(rss0)
     - static_cast<double>(handles))
    / static_cast<double>(n));
  out["heap_bytes_per_channel"] = rounded(
    (static_cast<double>(heap1) - static_cast<double>(heap0)
     - static_cast<double>(handles))
    / static_cast<double>(n));
  if (opts.flag("idle-only")) {
    // For a heap profiler: end here with the idle channels still alive, so
    // what is still allocated at exit is what they hold. No teardown: the
    // actor system is never destroyed.
    out["idle_only"] = true;
    std::cout << json::serialize(out) << std::endl;
    std::exit(0);
  }
  for (auto& ch : idle)
    caf::anon_send(ch, caf::leave_atom::value, std::string{});
  idle.clear();
  idle.shrink_to_fit();
  nd.await_table(sys, 0, 0);
  stage("idle channels left");
  caf::anon_send_exit(transport, caf::exit_reason::user_shutdown);
  transport = nullptr;

  // 2. N backups: channels put their payload, all crash, nobody rejoins.
  settle(500);
  auto rss2 = resident_bytes();
  auto heap2 = heap_in_use_bytes();
  std::cerr << "memory: " << n << " backups of " << payload << '\n';
  auto run = std::make_shared<recovery_run>(n);
  run->env = nd.env;
  run->payload = payload;
  run->prefix = "bench:mem:";
  run->rejoin = false;
  auto clients = arm_clients(sys, run, n);
  stage("channels hold their payload");
  auto t0 = now_us();
  fire(*run, trigger::crash);
  await(run->gone, "crashes");
  stage("all crashed");
  clients.clear();
  run->channels.clear();
  run->channels.shrink_to_fit();
  nd.await_table(sys, 0, n);
  auto crash_all_us = now_us() - t0;
  stage("registry holds every backup");
  run.reset();
  settle(500);
  auto rss3 = resident_bytes();
  auto heap3 = heap_in_use_bytes();
  auto per_backup = [n](std::size_t after, std::size_t before) {
    return rounded((static_cast<double>(after) - static_cast<double>(before))
                   / static_cast<double>(n));
  };
  out["pack_after_ms"] = pack_after.count();
  if (pack_after.count() > 0) {
    // What a stored backup costs once the registry's sweep packed it. (The
    // crashes of a large N outlast pack_after, so a figure taken before
    // this point would mix both forms: the hot figure is the run with
    // --pack-after-ms=0.)
    auto pack_us = await_packed(sys, nd, n);
    stage("registry packed every backup");
    out["pack_all_ms"] = ms(pack_us);
    settle(500);
    rss3 = resident_bytes();
    heap3 = heap_in_use_bytes();
  }
  auto st = nd.stats(sys);
  // A stored backup at rest: packed if packing is on, hot if it is off.
  out["bytes_per_backup"] = per_backup(rss3, rss2);
  out["heap_bytes_per_backup"] = per_backup(heap3, heap2);
  out["estimated_bytes_per_backup"] = rounded(
    st["backup_bytes"].to_number<double>() / static_cast<double>(n));
  out["packed_backups"] = st["packed_backups"];
  out["crash_all_ms"] = ms(crash_all_us);
  out["pubsub"] = pubsub;

  // 3. Restores at once of the first K = min(N, 10 000) backups (packed
  // ones are unpacked): joins of the same keys, timed to the last join
  // reply; the size of a `recover` storm, so the two compare.
  {
    auto k = std::min<std::size_t>(n, 10'000);
    auto joined_back = std::make_shared<latch>(k);
    auto fresh = std::make_shared<std::atomic<std::size_t>>(0);
    auto tr = sys.spawn(restore_sink, joined_back, fresh);
    std::vector<caf::actor> back;
    back.reserve(k);
    auto t1 = now_us();
    for (std::size_t i = 0; i < k; ++i) {
      auto ch = join_channel(sys, nd.env,
                             join_request{"bench:mem:" + std::to_string(i),
                                          "c" + std::to_string(i), "2",
                                          {},
                                          tr});
      if (!ch)
        throw bench_failure{"restoring join failed"};
      back.push_back(std::move(*ch));
    }
    await(*joined_back, "restoring joins");
    auto restore_all_us = now_us() - t1;
    stage("backups restored");
    out["restored"] = k;
    out["restore_all_ms"] = ms(restore_all_us);
    out["restores_per_s"] = rounded(static_cast<double>(k) * 1e6
                                    / static_cast<double>(
                                      std::max<std::int64_t>(restore_all_us,
                                                             1)));
    out["not_restored"] = fresh->load();
    for (auto& ch : back)
      caf::anon_send(ch, caf::leave_atom::value, std::string{});
    back.clear();
    nd.await_table(sys, 0, n - k);
    caf::anon_send_exit(tr, caf::exit_reason::user_shutdown);
  }
  std::cerr << "memory: " << out["bytes_per_backup"] << " B per backup, "
            << out["bytes_per_channel"] << " B per idle channel (RSS)\n";
  return out;
}

} // namespace chanstate::bench
