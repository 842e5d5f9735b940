// The memory scenario: bytes per idle channel, per stored backup (hot or
// packed) and the time to restore a storm of them, from RSS and the
// allocator's own count.
#include "test/bench/in_process.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/registry/registry_config.hpp>
#include "test/bench/in_process_common.hpp"
#include "test/bench/recovery_client.hpp"

namespace chanstate::bench {

using namespace in_process;

namespace {

namespace json = boost::json;

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

/// Joins prefix<i> as client c<i> for every i < n, all through one
/// transport; their handles. A join refused at once fails the run.
std::vector<caf::actor> join_all(caf::actor_system& sys,
                                 const channel_env& env,
                                 const std::string& prefix, std::size_t n,
                                 const char* join_ref,
                                 const caf::actor& transport,
                                 const char* what) {
  std::vector<caf::actor> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto ch = join_channel(sys, env,
                           join_request{prefix + std::to_string(i),
                                        "c" + std::to_string(i), join_ref,
                                        {},
                                        transport});
    if (!ch)
      throw bench_failure{std::string{what} + " failed"};
    out.push_back(std::move(*ch));
  }
  return out;
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
  std::cerr << "memory: " << n << " idle channels\n";
  auto idle = join_all(sys, nd.env, "room:idle:", n, "1", transport,
                       "idle join");
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
    auto t1 = now_us();
    auto back = join_all(sys, nd.env, "bench:mem:", k, "2", tr,
                         "restoring join");
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
