// Journal, supervisor, publication or remote link: the registry a node uses.
#include <chanstate/endpoint/registry_side.hpp>

#include <iostream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include <chanstate/actors/registry_link.hpp>
#include <chanstate/endpoint/log.hpp>
#include <chanstate/registry/journal_actor.hpp>
#include <chanstate/registry/journal_store.hpp>
#include <chanstate/registry/registry_error.hpp>
#include <chanstate/registry/registry_supervisor.hpp>

namespace chanstate {

namespace {

caf::expected<std::pair<std::string, std::uint16_t>>
parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return caf::make_error(caf::sec::invalid_argument,
                           "--registry wants HOST:PORT, got '" + text + "'");
  auto port_text = text.substr(colon + 1);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port == 0 || port > 65535)
      throw std::out_of_range{port_text};
  } catch (...) {
    return caf::make_error(caf::sec::invalid_argument,
                           "--registry port must be 1..65535, got '"
                             + port_text + "'");
  }
  return std::make_pair(text.substr(0, colon),
                        static_cast<std::uint16_t>(port));
}

// On the thread that tried the batch (the writer's, or a waiting channel's
// worker). A failed write is retried every 50 ms, so
// a full disk fails 20 times a second: rate-limited with a summary.
void log_journal_write(const journal_write_event& ev) {
  if (ev.recovered)
    log_event(spdlog::level::info, "journal_write_recovered",
              "journal writes work again",
              {{"failed_attempts", ev.failed_attempts}});
  else
    log_limited(spdlog::level::err, "journal_write_error",
                "journal write failed: the changes stay staged and are "
                "retried; replies after a commit are held until it works",
                {{"error", ev.error}, {"failed_attempts", ev.failed_attempts}});
}

} // namespace

caf::expected<registry_side>
start_registry_side(caf::actor_system& sys, const registry_config& cfg,
                    const registry_options& opts) {
  registry_side side;
  if (!opts.remote.empty()) {
    if (!opts.journal_dir.empty() || opts.listen_port)
      return caf::make_error(caf::sec::invalid_argument,
                             "--registry uses another node's registry; "
                             "--journal and --registry-listen belong on that "
                             "node");
    auto hp = parse_host_port(opts.remote);
    if (!hp)
      return std::move(hp.error());
    registry_link_options link;
    link.join_wait = opts.link_join_wait;
    // With cluster TLS, CAF's OpenSSL module connects: both nodes verify
    // each other's certificate against the cluster CA.
    if (opts.tls)
      link.connector = caf::actor_cast<caf::actor>(
        sys.openssl_manager().actor_handle());
    // In the node's log (JSON with --log-format=json), not a bare stderr line.
    link.on_connect_failure = [at = opts.remote](const std::string& why) {
      log_event(spdlog::level::warn, "registry_connect_failed",
                "cannot attach to the registry at " + at + ": " + why
                  + "; retrying",
                {{"registry", at}, {"error", why}});
    };
    side.handle = spawn_registry_link(sys, hp->first, hp->second, link);
    side.remote = true;
    // Our channels' refusals are ours to count: the remote registry's
    // counters are about its own node's channels.
    side.counters = std::make_shared<limit_counters>();
    return side;
  }
  auto table = std::make_shared<backup_table>(cfg);
  if (!opts.journal_dir.empty()) {
    auto store = journal_store::open(opts.journal_dir, opts.journal_map_bytes);
    if (!store)
      return std::move(store.error());
    auto saved = (*store)->load();
    if (!saved)
      return std::move(saved.error());
    // What the journal holds becomes backups: a client that rejoins gets
    // its state back, whether its channel had crashed or was live when the
    // process died.
    auto now = sys.clock().now();
    for (const auto& [key, assigns] : *saved)
      table->put_backup(key, assigns, now);
    if (!saved->empty())
      log_event(spdlog::level::info, "journal_recovered",
                "chanstate-node: journal " + opts.journal_dir + ": "
                  + std::to_string(saved->size()) + " states recovered",
                {{"dir", opts.journal_dir}, {"states", saved->size()}});
    auto journal = spawn_journal(sys, std::move(*store), std::move(*saved));
    journal.stats->set_listener(log_journal_write);
    table->set_observer(journal.observer);
    side.journal_waiter_ = journal.waiter;
    side.journal_ = journal.writer;
  }
  side.handle = spawn_supervised_registry(sys, table);
  side.counters = table->limits();
  if (opts.listen_port) {
    // With TLS only peers with a certificate of our CA get a handshake
    // through (CAF's OpenSSL module verifies both sides).
    auto port = opts.tls
                  ? caf::openssl::publish(side.handle, *opts.listen_port,
                                          opts.listen_host.c_str(), true)
                  : sys.middleman().publish(side.handle, *opts.listen_port,
                                            opts.listen_host.c_str(), true);
    if (!port) {
      side.stop(sys);
      return caf::make_error(caf::sec::cannot_open_port,
                             "cannot publish the registry on "
                               + opts.listen_host + ":"
                               + std::to_string(*opts.listen_port) + ": "
                               + describe(port.error()));
    }
    side.published_port = *port;
  }
  return side;
}

void registry_side::stop(caf::actor_system& sys) {
  if (journal_) {
    caf::scoped_actor self{sys};
    self->request(journal_, std::chrono::seconds{10}, caf::reset_atom::value)
      .receive([] {},
               [](caf::error& err) {
                 log_event(spdlog::level::err, "journal_error",
                           "could not clear the journal",
                           {{"error", describe(err)}});
               });
    self->send_exit(journal_, caf::exit_reason::user_shutdown);
  }
  if (published_port)
    sys.middleman().close(*published_port);
  caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
}

} // namespace chanstate
