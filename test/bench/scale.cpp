// The scale scenario. A client per channel would double the actor count and
// hide what the node costs, so a few transport actors each play the client
// of every K-th channel: they join, put, see the crash (monitor), rejoin and
// check. Per-channel client state is a few bytes in shared vectors, each
// slot written by its one transport only.
#include "test/bench/scale.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/registry/backup_table.hpp>
#include <chanstate/registry/registry_actor.hpp>
#include "test/bench/bench_channel.hpp"
#include "test/bench/perf_window.hpp"

namespace chanstate::bench {

namespace {

namespace json = boost::json;

using join_more_atom = caf::atom_constant<caf::atom("s_joinmore")>;

constexpr const char* prefix = "bench:s:";
constexpr std::size_t join_batch = 2000;

enum class slot : std::uint8_t { joining, putting, armed, recovering, ok, lost, stale, other };

struct scale_run {
  channel_env env;
  std::size_t n = 0;
  std::size_t transports = 0;
  std::vector<caf::actor> channels; // slot i: written by transport i % K
  std::vector<slot> state;
  std::vector<std::int32_t> restore_us; // trigger → checked get, per channel
  std::vector<std::int32_t> join_us;    // start → put acknowledged
  std::int64_t join_t0 = 0;
  std::atomic<std::int64_t> t0{0};
  latch ready;
  latch done;
  std::atomic<std::size_t> errors{0};
  // Crashed channels whose client has seen the down and rejoined: with
  // `done`, the progress lines show which phase a storm is in.
  std::atomic<std::size_t> rejoined{0};

  scale_run(std::size_t count, std::size_t k)
    : n(count), transports(k), channels(count), state(count, slot::joining),
      restore_us(count, 0), join_us(count, 0), ready(count), done(count) {
  }
};

struct scale_client_state {
  static inline const char* name = "chanstate.bench.scale_client";
  std::unordered_map<caf::actor_id, std::uint32_t> by_actor;
  std::size_t next = 0; // next index to join (k, k+K, ...)
};

using scale_ptr = caf::stateful_actor<scale_client_state>*;

std::int64_t index_of(const std::string& topic) {
  std::int64_t i = -1;
  auto first = topic.data() + std::char_traits<char>::length(prefix);
  auto last = topic.data() + topic.size();
  if (topic.size() <= std::char_traits<char>::length(prefix)
      || std::from_chars(first, last, i).ec != std::errc{})
    return -1;
  return i;
}

client_event event(std::string ref, std::string name, json::object payload) {
  return client_event{std::move(ref), std::move(name), {std::move(payload)}};
}

bool join_one(scale_ptr self, scale_run& run, std::size_t i,
              const std::string& join_ref) {
  auto ch = join_channel(self->system(), run.env,
                         join_request{prefix + std::to_string(i),
                                      "c" + std::to_string(i), join_ref,
                                      {},
                                      caf::actor_cast<caf::actor>(self)});
  if (!ch)
    return false;
  self->monitor(*ch);
  self->state.by_actor.emplace(ch->id(), static_cast<std::uint32_t>(i));
  run.channels[i] = std::move(*ch);
  return true;
}

void finish(scale_run& run, std::size_t i, slot result) {
  run.state[i] = result;
  auto t = now_us() - run.t0.load(std::memory_order_acquire);
  run.restore_us[i] = static_cast<std::int32_t>(std::min<std::int64_t>(t, INT32_MAX));
  run.done.arrive();
}

caf::behavior scale_client(scale_ptr self, std::shared_ptr<scale_run> run,
                           std::size_t k) {
  self->state.next = k;
  self->state.by_actor.reserve(run->n / run->transports + 16);
  self->set_down_handler([self, run](caf::down_msg& dm) {
    auto& st = self->state;
    auto it = st.by_actor.find(dm.source.id());
    if (it == st.by_actor.end())
      return;
    auto i = it->second;
    st.by_actor.erase(it);
    if (run->state[i] != slot::armed)
      return; // a refused join's own end: counted where it was refused
    run->state[i] = slot::recovering;
    run->rejoined.fetch_add(1, std::memory_order_relaxed);
    if (!join_one(self, *run, i, "2")) {
      ++run->errors;
      finish(*run, i, slot::other);
      return;
    }
    // Sent at once: the channel holds it until its restore is done.
    self->send(run->channels[i], event("g", "get", {}));
  });
  self->send(self, join_more_atom::value);
  return {
    [self, run](join_more_atom) {
      auto& st = self->state;
      for (std::size_t j = 0; j < join_batch && st.next < run->n; ++j) {
        auto i = st.next;
        st.next += run->transports;
        if (!join_one(self, *run, i, "1")) {
          ++run->errors;
          run->state[i] = slot::other;
          run->ready.arrive();
          run->done.arrive();
        }
      }
      if (st.next < run->n)
        self->send(self, join_more_atom::value);
    },
    [self, run](outbound_frame& f) {
      auto i = index_of(f.topic);
      if (i < 0 || static_cast<std::size_t>(i) >= run->n) {
        ++run->errors;
        return;
      }
      auto& s = run->state[static_cast<std::size_t>(i)];
      switch (f.kind) {
        case frame_kind::join_ok:
          if (s == slot::joining) {
            s = slot::putting;
            self->send(run->channels[i],
                       event("p", "put", {{"items", i}}));
          }
          return;
        case frame_kind::join_error:
          ++run->errors;
          if (s == slot::joining || s == slot::putting) {
            s = slot::other;
            run->ready.arrive();
            run->done.arrive();
          } else if (s == slot::recovering) {
            finish(*run, static_cast<std::size_t>(i), slot::other);
          }
          return;
        case frame_kind::reply:
          if (s == slot::putting && f.ref == "p") {
            s = slot::armed;
            run->join_us[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(
              std::min<std::int64_t>(now_us() - run->join_t0, INT32_MAX));
            run->ready.arrive();
          } else if (s == slot::recovering && f.ref == "g") {
            auto resp = f.payload.value.if_contains("response");
            const json::value* items = nullptr;
            if (resp && resp->is_object())
              items = resp->get_object().if_contains("items");
            slot result = slot::other;
            if (!items || items->is_null())
              result = slot::lost;
            else if (items->is_int64() && items->get_int64() == i)
              result = slot::ok;
            else
              result = slot::stale;
            finish(*run, static_cast<std::size_t>(i), result);
          } else {
            ++run->errors;
          }
          return;
        default:
          return; // pushes (none from the bench channel)
      }
    },
  };
}

std::string registry_progress(caf::actor_system& sys,
                              const registry_actor& registry) {
  caf::scoped_actor self{sys};
  std::string out = "no answer within 2 s";
  self->request(registry, std::chrono::seconds{2}, stats_atom::value)
    .receive(
      [&](std::string& text) {
        auto st = json::parse(text).as_object();
        out = "live " + json::serialize(st["live_channels"]) + ", backups "
              + json::serialize(st["backups"]) + ", down_wait_timeouts "
              + json::serialize(st["down_wait_timeouts"]) + ", superseded "
              + json::serialize(st["superseded_joins"]);
      },
      [](caf::error&) {});
  return out;
}

// The registry's counters that say whether a join waited for a down
// message (down_wait_timeouts, superseded_joins) or was refused.
json::object registry_counters_json(caf::actor_system& sys,
                                    const registry_actor& registry) {
  caf::scoped_actor self{sys};
  json::object out;
  self->request(registry, std::chrono::seconds{30}, stats_atom::value)
    .receive(
      [&](std::string& text) {
        auto st = json::parse(text).as_object();
        for (auto key : {"live_channels", "backups", "down_wait_timeouts",
                         "superseded_joins", "rejected_commits"})
          if (auto v = st.if_contains(key))
            out[key] = *v;
      },
      [&](caf::error& err) { out["error"] = caf::to_string(err); });
  return out;
}

std::size_t peak_rss_bytes() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;
  return 0;
}

// CPU time CAF's workers ran and waited for a core (runnable but not
// running), summed over the workers, from /proc/self/task/*/schedstat.
// Over a phase, wall × workers − run − wait is the time they slept for
// lack of work: whether a storm is bound by CPU, by the machine's other
// load, or by a serial step that leaves a worker idle.
struct worker_times {
  std::uint64_t run_ns = 0;
  std::uint64_t wait_ns = 0;
  std::size_t workers = 0;
};

worker_times read_worker_times() {
  worker_times out;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator{"/proc/self/task", ec}) {
    std::ifstream comm{task.path() / "comm"};
    std::string name;
    // CAF 0.17 names its scheduler's workers "caf.multiplexer".
    if (!std::getline(comm, name) || name != "caf.multiplexer")
      continue;
    std::ifstream stat{task.path() / "schedstat"};
    std::uint64_t run = 0, wait = 0;
    if (stat >> run >> wait) {
      out.run_ns += run;
      out.wait_ns += wait;
      ++out.workers;
    }
  }
  return out;
}

double seconds(std::int64_t us) {
  return static_cast<double>(us) / 1e6;
}

} // namespace

json::object run_scale(caf::actor_system& sys, const options& opts) {
  auto n = static_cast<std::size_t>(opts.num("channels", 1'000'000));
  auto k = static_cast<std::size_t>(
    std::max<std::int64_t>(opts.num("transports", 64), 1));
  bool pubsub = opts.num("pubsub", 1) != 0;
  if (n == 0)
    throw std::invalid_argument("--channels must be at least 1");
  k = std::min(k, n);
  registry_config rc;
  // Nothing may expire or be evicted while the scenario runs.
  rc.backup_ttl = std::chrono::minutes{30};
  rc.max_backups = std::max(n, rc.max_backups);
  rc.max_backup_bytes = std::size_t{64} << 30;
  auto table = std::make_shared<backup_table>(rc);
  auto routes = std::make_shared<router>();
  if (auto err = routes->add("bench:*", bench_channel_factory()))
    throw std::runtime_error{"route bench:*"};
  auto run = std::make_shared<scale_run>(n, k);
  run->env.registry = spawn_registry(sys, table);
  if (pubsub)
    run->env.pubsub = spawn_pubsub(sys);
  run->env.routes = routes;
  // A million joins queue at one registry: not the 10 s a client waits.
  run->env.restore_timeout = std::chrono::minutes{5};
  auto rss0 = resident_bytes();
  std::cerr << "scale: " << n << " channels over " << k << " transports\n";
  auto tj0 = now_us();
  auto cpu_j0 = cpu_seconds();
  run->join_t0 = tj0;
  std::vector<caf::actor> clients;
  clients.reserve(k);
  for (std::size_t j = 0; j < k; ++j)
    clients.push_back(sys.spawn(scale_client, run, j));
  constexpr auto patience = std::chrono::minutes{10};
  if (!run->ready.wait(patience))
    throw std::runtime_error{"scale: joins timed out ("
                             + std::to_string(run->ready.count()) + " ready)"};
  auto join_us = run->ready.last_us() - tj0;
  auto cpu_join = cpu_seconds() - cpu_j0;
  auto rss_joined = resident_bytes();
  std::cerr << "scale: joined in " << seconds(join_us) << " s, RSS "
            << (rss_joined >> 20) << " MB; crashing all\n";
  other_cpu_meter meter;
  perf_window perf;
  auto workers0 = read_worker_times();
  auto workers_t0 = now_us();
  auto cpu0 = cpu_seconds();
  run->t0.store(now_us(), std::memory_order_release);
  for (std::size_t i = 0; i < n; ++i)
    if (run->state[i] == slot::armed)
      caf::anon_send(run->channels[i], event({}, "oopsy", {}));
  auto crash_send_us = now_us() - run->t0.load();
  // Progress every second on stderr: how many clients have rejoined (their
  // old channel's down arrived) and how many are back; every 5 s also
  // whether the registry answers at all (a backlog there is one candidate
  // bound; the question itself queues behind it, so it is asked rarely).
  auto patience_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       patience)
                       .count();
  for (std::size_t tick = 1;
       !run->done.wait(std::chrono::seconds{1}); ++tick) {
    auto elapsed = now_us() - run->t0.load();
    if (elapsed >= patience_us)
      throw std::runtime_error{"scale: restores timed out ("
                               + std::to_string(run->done.count())
                               + " done)"};
    std::cerr << "scale: " << seconds(elapsed) << " s: "
              << run->rejoined.load(std::memory_order_relaxed)
              << " rejoined, " << run->done.count() << " restored, CPU "
              << cpu_seconds() - cpu0 << " s, RSS "
              << (resident_bytes() >> 20) << " MB";
    if (tick % 5 == 0)
      std::cerr << "; registry: " << registry_progress(sys, run->env.registry);
    std::cerr << '\n';
  }
  auto restore_us = run->done.last_us() - run->t0.load();
  auto cpu = cpu_seconds() - cpu0;
  auto workers1 = read_worker_times();
  auto workers_t1 = now_us();
  perf.close();
  // Shares of the workers' wall time during the storm, in % (of the span
  // between the two readings, a little longer than restore_all_s).
  auto worker_wall = static_cast<double>(workers_t1 - workers_t0) * 1000.0
                     * static_cast<double>(workers1.workers);
  auto share = [&](std::uint64_t ns) {
    return worker_wall > 0 ? 100.0 * static_cast<double>(ns) / worker_wall
                           : 0.0;
  };
  auto run_pct = share(workers1.run_ns - workers0.run_ns);
  auto wait_pct = share(workers1.wait_ns - workers0.wait_ns);
  std::size_t ok = 0, lost = 0, stale = 0, other = 0;
  std::vector<std::int64_t> lat;
  lat.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (run->state[i]) {
      case slot::ok:
        ++ok;
        lat.push_back(run->restore_us[i]);
        break;
      case slot::lost:
        ++lost;
        break;
      case slot::stale:
        ++stale;
        break;
      default:
        ++other;
    }
  }
  std::sort(lat.begin(), lat.end());
  // Per-phase shape: a step that grows super-linearly shows as a late p99
  // against p50 (all start at once), or as a slower second half of joins.
  std::vector<std::int64_t> joins(run->join_us.begin(), run->join_us.end());
  std::sort(joins.begin(), joins.end());
  auto reg = registry_counters_json(sys, run->env.registry);
  json::object out{
    {"scenario", "scale"},
    {"channels", n},
    {"transports", k},
    {"restored_ok", ok},
    {"lost", lost},
    {"stale", stale},
    {"other", other},
    {"errors", run->errors.load()},
    {"join_s", seconds(join_us)},
    {"join_p50_s", seconds(percentile(joins, 50))},
    {"crash_send_s", seconds(crash_send_us)},
    {"cpu_us_per_join", cpu_join * 1e6 / static_cast<double>(n)},
    {"restore_all_s", seconds(restore_us)},
    {"restore_p50_ms", static_cast<double>(percentile(lat, 50)) / 1000.0},
    {"restore_p99_ms", static_cast<double>(percentile(lat, 99)) / 1000.0},
    {"cpu_us_per_restore", cpu * 1e6 / static_cast<double>(n)},
    {"rss_joined_mb", static_cast<double>(rss_joined) / (1 << 20)},
    {"bytes_per_joined_channel",
     (static_cast<double>(rss_joined) - static_cast<double>(rss0))
       / static_cast<double>(n)},
    {"peak_rss_mb", static_cast<double>(peak_rss_bytes()) / (1 << 20)},
    {"pubsub", pubsub},
    {"registry", std::move(reg)},
    {"other_cpu_pct", meter.percent()},
    {"workers_run_pct", run_pct},
    {"workers_runqueue_pct", wait_pct},
    {"workers_idle_pct", std::max(0.0, 100.0 - run_pct - wait_pct)},
  };
  std::cerr << "scale: " << ok << "/" << n << " restored in "
            << seconds(restore_us) << " s\n";
  // Leave nothing behind for ~actor_system to wait on.
  for (auto& ch : run->channels)
    if (ch)
      caf::anon_send_exit(ch, caf::exit_reason::user_shutdown);
  run->channels.clear();
  for (auto& c : clients)
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(run->env.registry, caf::exit_reason::user_shutdown);
  if (run->env.pubsub)
    caf::anon_send_exit(run->env.pubsub, caf::exit_reason::user_shutdown);
  return out;
}

} // namespace chanstate::bench
