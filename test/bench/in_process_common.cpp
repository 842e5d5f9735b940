// The measured node of the in-process scenarios and its waits.
#include "test/bench/in_process_common.hpp"

#include <filesystem>
#include <system_error>
#include <thread>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/registry/journal_store.hpp>
#include <chanstate/registry/registry_actor.hpp>
#include <chanstate/registry/registry_error.hpp>
#include "test/bench/bench_channel.hpp"

namespace chanstate::bench::in_process {

using namespace std::chrono_literals;
namespace json = boost::json;

void await(latch& l, const char* what) {
  if (!l.wait(phase_timeout(l.target())))
    throw bench_failure{std::string{"timed out waiting for "} + what + " ("
                        + std::to_string(l.count()) + " arrived)"};
}

node::node(caf::actor_system& sys, bool write_through, bool with_pubsub,
           std::size_t max_backups, const std::string& journal_at,
           std::chrono::milliseconds pack_after) {
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

node::~node() {
  if (journal) {
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
    std::error_code ec;
    std::filesystem::remove_all(journal_dir, ec);
  }
  caf::anon_send_exit(env.registry, caf::exit_reason::user_shutdown);
  if (env.pubsub)
    caf::anon_send_exit(env.pubsub, caf::exit_reason::user_shutdown);
}

void node::journal_barrier(caf::actor_system& sys) const {
  if (!journal)
    return;
  caf::scoped_actor self{sys};
  self->request(journal, caf::infinite, caf::flush_atom::value)
    .receive([] {},
             [&](caf::error& err) {
               throw bench_failure{"journal flush: " + describe(err)};
             });
}

json::object node::stats(caf::actor_system& sys) const {
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

void node::await_table(caf::actor_system& sys, std::size_t live,
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

} // namespace chanstate::bench::in_process
