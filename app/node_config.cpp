// Option names, descriptions and defaults of chanstate-node.
#include "app/node_config.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <caf/atom.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/make_config_option.hpp>

#include <chanstate/actors/join.hpp>
#include <chanstate/actors/message_types.hpp>
#include "app/config_file.hpp"
#include <chanstate/endpoint/connect_params.hpp>
#include <chanstate/endpoint/log.hpp>

namespace chanstate {

namespace {

std::chrono::milliseconds to_ms(caf::timespan t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t);
}

// Chosen from the figures in the README ("The node's scheduler"): work
// stealing, whose idle workers give up polling after 10 quick attempts and
// 50 more 50 µs apart (CAF: 100 and 500) and then sleep until work is
// enqueued for them. Against CAF's polling it recovered crash bursts
// faster (12 of 15 paired runs), for less of the node's CPU; steady round
// trips were within the noise (README).
constexpr caf::atom_value default_scheduler_policy = caf::atom("stealing");
constexpr std::size_t default_aggressive_polls = 10;
constexpr std::size_t default_moderate_polls = 50;

// One worker per core, at least two (CAF 0.17 starts max(cores, 4): more
// workers than cores only add wake-ups; one worker lost most crash
// bursts on two cores).
std::size_t default_scheduler_threads() {
  return std::max<std::size_t>(2, std::thread::hardware_concurrency());
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// How a value of CAF's option type `t` is written in the file.
std::string describe_type(caf::string_view t) {
  std::string type{t.begin(), t.end()};
  if (type == "atom")
    return "an atom, in single quotes ('sharing')";
  if (type == "real64")
    return "a number with a decimal point (20.0)";
  if (type == "timespan")
    return "a duration with its unit (60s, 500ms)";
  if (type == "string")
    return "a string in double quotes";
  if (type == "boolean")
    return "true or false";
  if (type.rfind("uint", 0) == 0 || type.rfind("int", 0) == 0)
    return "a whole number";
  return "a " + type;
}

} // namespace

node_config::node_config() {
  const endpoint_options ep;
  const registry_config reg;
  host = ep.host;
  port = ep.port;
  max_frame_bytes = ep.max_frame_bytes;
  max_channels = ep.max_channels;
  max_connections = ep.max_connections;
  join_rate = ep.join_rate.per_second;
  join_burst = ep.join_rate.burst;
  idle_timeout = ep.idle_timeout;
  handshake_timeout = ep.handshake_timeout;
  max_outbound_bytes = ep.max_outbound_bytes;
  backup_ttl = reg.backup_ttl;
  max_backups = reg.max_backups;
  max_backup_bytes = reg.max_backup_bytes;
  down_wait = reg.down_wait;
  sweep_interval = reg.sweep_interval;
  pack_after = reg.pack_after;
  restore_timeout_span = channel_env{}.restore_timeout;
  max_assigns_bytes = channel_env{}.max_assigns_bytes;
  generations = reg.generations;
  poison_crashes = reg.poison_crashes;
  // The scheduler: CAF's own options (--scheduler.policy,
  // --scheduler.max-threads, --work-stealing.*, or [scheduler] in the
  // config file) with the node's defaults set here; the command line and
  // the file override them. Why these: README, "The node's scheduler".
  set("scheduler.policy", default_scheduler_policy);
  set("scheduler.max-threads", default_scheduler_threads());
  set("work-stealing.aggressive-poll-attempts", default_aggressive_polls);
  set("work-stealing.moderate-poll-attempts", default_moderate_polls);
  register_message_types(*this);
  // One group: CAF's --help lists only the global options, and every
  // option belongs in --help.
  opt_group{custom_options_, "global"}
    .add(host, "host", "address to listen on (default 127.0.0.1)")
    .add(port, "port", "port to listen on; 0 picks a free one (default 4000)")
    .add(max_frame_bytes, "max-frame-bytes",
         "larger frames are refused with close 1009 (default 1 MiB)")
    .add(max_channels, "max-channels",
         "channels one socket may join (default 100, as Phoenix)")
    .add(max_connections, "max-connections",
         "WebSocket connections open at once; more are closed with 1013 "
         "(default 16384)")
    .add(join_rate, "join-rate",
         "joins per second one client id may make; more get a join error "
         "with retry_after_ms; 0 = no limit (default 20)")
    .add(join_burst, "join-burst",
         "joins one client id may make at once, e.g. rejoining every "
         "channel after a reconnect (default 200)")
    .add(idle_timeout, "idle-timeout",
         "close a connection that sent nothing this long; 0s = never "
         "(default 60s, as Phoenix)")
    .add(handshake_timeout, "handshake-timeout",
         "bound on the upgrade request and the close handshake "
         "(default 10s)")
    .add(max_outbound_bytes, "max-outbound-bytes",
         "close a connection whose unsent frames pass this size "
         "(default 8 MiB)")
    .add(allowed_origins, "allowed-origins",
         "comma-separated Origin values to accept; empty accepts all "
         "(default empty)")
    .add(token_secret_file, "token-secret-file",
         "require an HS256 token signed with a secret of this file (one per "
         "line, >= 32 bytes; the first signs, all verify; SIGHUP re-reads "
         "it); its sub is the client id (default off: any client may claim "
         "any client_id)")
    .add(tls_cert, "tls-cert",
         "PEM certificate chain: serve wss:// (TLS 1.2+) with --tls-key "
         "(default off: ws://)")
    .add(tls_key, "tls-key", "PEM private key of --tls-cert")
    .add(allow_fatal_demo, "allow-fatal-demo",
         "let the demo channel's `abort` event kill the process (tests of "
         "the journal and remote registries only)")
    .add(backup_ttl, "backup-ttl",
         "drop a backup not restored within this time (default 5min)")
    .add(max_backups, "max-backups",
         "most backups kept; the oldest is evicted (default 100000)")
    .add(max_backup_bytes, "max-backup-bytes",
         "most bytes of backups kept (default 256 MiB)")
    .add(down_wait, "down-wait",
         "how long a rejoin waits for the old channel's down (default 5s)")
    .add(sweep_interval, "sweep-interval",
         "how often expired backups are swept (default 1s)")
    .add(pack_after, "pack-after",
         "a backup not restored this long is packed compactly by the "
         "sweep (default 2s, 0s = never)")
    .add(restore_timeout_span, "restore-timeout",
         "how long a joining channel waits for the registry; must be "
         "longer than --down-wait (default 10s)")
    .add(max_assigns_bytes, "max-assigns-bytes",
         "largest estimated size of one channel's assigns; a commit over it "
         "is refused with an error reply (assigns_too_large) and the state "
         "stays as it was; 0 = no limit (default 1 MiB)")
    .add(generations, "generations",
         "generations of a key's state kept for the poison guard (default 2)")
    .add(poison_crashes, "poison-crashes",
         "a restored state that crashes its channel before any client event "
         "completed this many restores in a row falls back a generation, "
         "then is quarantined; crashes after progress never count; 0 = off "
         "(default 3)")
    .add(journal, "journal",
         "keep backups and live commits in an LMDB journal in this "
         "directory: they survive a crash of the process (default off)")
    .add(journal_map_mb, "journal-map-mb",
         "the journal's largest size in MiB (default 1024)")
    .add(ack, "ack",
         "durable: a reply or push after a commit leaves only once the "
         "journal (or the remote registry) holds it; async: at once, as "
         "before (default durable)")
    .add(registry_listen, "registry-listen",
         "publish this node's registry on this port through CAF's "
         "middleman; 0 picks one (default off)")
    .add(registry_listen_host, "registry-listen-host",
         "address the registry is published on (default 127.0.0.1)")
    .add(registry_at, "registry",
         "HOST:PORT of another node's registry to use instead of our own "
         "(default off)")
    .add(cluster_cert, "cluster-cert",
         "PEM certificate (signed by --cluster-ca) this node shows to other "
         "nodes; with --cluster-key and --cluster-ca the registry link is "
         "mutually authenticated TLS (default off)")
    .add(cluster_key, "cluster-key", "PEM private key of --cluster-cert")
    .add(cluster_ca, "cluster-ca",
         "PEM CA certificate; only nodes with a certificate it signed may "
         "attach to (or serve) the registry")
    .add(cluster_insecure, "cluster-insecure",
         "allow --registry-listen-host other than loopback without TLS: "
         "anyone who reaches the port reads and writes every backup")
    .add(cluster_heartbeat, "cluster-heartbeat",
         "middleman heartbeat between nodes when registries cross nodes; a "
         "peer silent for 3 heartbeats is lost (default 500ms)")
    .add(log_level, "log-level",
         "error|warn|info|debug: the least severe log line written to "
         "stderr (default info)")
    .add(log_format, "log-format",
         "text|json: one line per event as text or as a JSON object "
         "(default text)");
  // CAF's own descriptions of these say "to STDERR" (CAF prints to stdout)
  // and "(default: caf-application.ini)" (parse_command_line reads a file
  // only when one is named).
  for (auto& opt : custom_options_) {
    if (opt.category() != "global")
      continue;
    if (opt.long_name() == "help")
      opt = caf::make_config_option<bool>("global", "help,h?",
                                          "print this help and exit");
    else if (opt.long_name() == "long-help")
      opt = caf::make_config_option<bool>(
        "global", "long-help", "print this help with CAF's options and exit");
    else if (opt.long_name() == "dump-config")
      opt = caf::make_config_option<bool>(
        "global", "dump-config", "print the configuration and exit");
    else if (opt.long_name() == "config-file")
      opt = caf::make_config_option<std::string>(
        "global", "config-file",
        "read options from this INI file; the command line wins "
        "(default none: no file is read)");
  }
}

caf::error node_config::parse_command_line(int argc, char** argv) {
  // --config-file is ours to read: CAF's INI parser knows no `#` comment
  // and ignores keys it does not know.
  const std::string flag = "--config-file=";
  std::vector<std::string> args;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.compare(0, flag.size(), flag) == 0)
      path = arg.substr(flag.size());
    else
      args.push_back(std::move(arg));
  }
  std::string text;
  if (!path.empty()) {
    std::ifstream in{path};
    if (!in)
      return caf::make_error(caf::sec::cannot_open_file,
                             "cannot open config file " + path);
    std::ostringstream buf;
    buf << in.rdbuf();
    auto known = [this](std::string_view section, std::string_view key) {
      return custom_options_.qualified_name_lookup(section, key) != nullptr;
    };
    auto check = [this](std::string_view section, std::string_view key,
                        std::string_view value) -> std::string {
      auto opt = custom_options_.qualified_name_lookup(section, key);
      auto v = caf::config_value::parse(value);
      if (opt == nullptr || !v || !opt->check(*v))
        return {}; // CAF's parser reports a value it cannot read
      std::string name = "--";
      if (section != "global")
        name.append(section).push_back('.');
      name.append(key);
      return name + " takes " + describe_type(opt->type_name())
             + ", got: " + std::string{value};
    };
    auto cleaned = clean_config(buf.str(), known, check);
    if (!cleaned) {
      const auto& ctx = cleaned.error().context();
      auto why = ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0)
                                                   : render(cleaned.error());
      return caf::make_error(caf::sec::invalid_argument, path + ": " + why);
    }
    text = std::move(*cleaned);
  }
  std::istringstream ini{text};
  return parse(std::move(args), ini);
}

std::string node_config::invalid() const {
  // Zero would refuse every frame, channel or connection: surely a typo.
  if (max_frame_bytes == 0)
    return "max-frame-bytes must be at least 1";
  if (max_channels == 0)
    return "max-channels must be at least 1";
  if (max_connections == 0)
    return "max-connections must be at least 1";
  if (!(join_rate >= 0))
    return "join-rate must be 0 (no limit) or more";
  if (join_rate > 0 && join_burst == 0)
    return "join-burst must be at least 1 while join-rate is on";
  // The registry answers a rejoin of a still-live key only after the old
  // channel's down, or after down-wait: a joining channel that gives up
  // sooner refuses every such rejoin.
  if (restore_timeout_span <= down_wait)
    return "restore-timeout must be longer than down-wait";
  // CAF falls back to work stealing on a policy it does not know, with
  // only a line on stderr; `testing` is its deterministic test scheduler,
  // which never runs anything by itself.
  if (auto p = scheduler_policy(); p != "stealing" && p != "sharing")
    return "scheduler.policy must be stealing or sharing, got '" + p + "'";
  if (scheduler_threads() == 0)
    return "scheduler.max-threads must be at least 1";
  if (!parse_log_level(log_level))
    return "log-level must be error, warn, info or debug";
  if (!parse_log_format(log_format))
    return "log-format must be text or json";
  if (ack != "durable" && ack != "async")
    return "ack must be durable or async, got '" + ack + "'";
  if (tls_cert.empty() != tls_key.empty())
    return "wss:// needs both --tls-cert and --tls-key";
  auto tls_parts = !cluster_cert.empty() + !cluster_key.empty()
                   + !cluster_ca.empty();
  if (tls_parts != 0 && tls_parts != 3)
    return "cluster TLS needs all of --cluster-cert, --cluster-key and "
           "--cluster-ca";
  // The registry port hands out every client's state: off loopback it
  // needs TLS, or an operator who says they know.
  if (registry_listen >= 0 && !is_loopback(registry_listen_host)
      && !cluster_tls() && !cluster_insecure)
    return "--registry-listen-host=" + registry_listen_host
           + " is not a loopback address: configure --cluster-cert, "
             "--cluster-key and --cluster-ca, or accept an unauthenticated "
             "registry with --cluster-insecure";
  return {};
}

endpoint_options node_config::endpoint() const {
  endpoint_options ep;
  ep.host = host;
  ep.port = port;
  ep.max_frame_bytes = max_frame_bytes;
  ep.max_channels = max_channels;
  ep.max_connections = max_connections;
  ep.join_rate = {join_rate, join_burst};
  ep.idle_timeout = to_ms(idle_timeout);
  ep.handshake_timeout = to_ms(handshake_timeout);
  ep.max_outbound_bytes = max_outbound_bytes;
  ep.allowed_origins = parse_origin_list(allowed_origins);
  ep.tls_cert = tls_cert;
  ep.tls_key = tls_key;
  ep.demo_page = true; // the node serves the demo channel room:*
  return ep;
}

registry_config node_config::registry() const {
  registry_config reg;
  reg.backup_ttl = to_ms(backup_ttl);
  reg.max_backups = max_backups;
  reg.max_backup_bytes = max_backup_bytes;
  reg.down_wait = to_ms(down_wait);
  reg.sweep_interval = to_ms(sweep_interval);
  reg.pack_after = to_ms(pack_after);
  reg.generations = generations;
  reg.poison_crashes = poison_crashes;
  return reg;
}

registry_options node_config::registry_side() const {
  registry_options opts;
  opts.journal_dir = journal;
  opts.journal_map_bytes = journal_map_mb << 20;
  if (registry_listen >= 0)
    opts.listen_port = static_cast<std::uint16_t>(registry_listen);
  opts.listen_host = registry_listen_host;
  opts.remote = registry_at;
  opts.tls = cluster_tls();
  return opts;
}

std::string node_config::scheduler_policy() const {
  auto v = caf::get_if(&caf::content(*this), "scheduler.policy");
  if (v == nullptr)
    return caf::to_string(default_scheduler_policy);
  if (auto a = caf::get_if<caf::atom_value>(v))
    return caf::to_string(*a);
  return caf::to_string(*v); // not a policy: invalid() says so
}

std::size_t node_config::scheduler_threads() const {
  return caf::get_or(*this, "scheduler.max-threads",
                     default_scheduler_threads());
}

std::pair<std::size_t, std::size_t> node_config::steal_polls() const {
  return {caf::get_or(*this, "work-stealing.aggressive-poll-attempts",
                      default_aggressive_polls),
          caf::get_or(*this, "work-stealing.moderate-poll-attempts",
                      default_moderate_polls)};
}

bool node_config::cluster_tls() const {
  return !cluster_cert.empty() && !cluster_key.empty() && !cluster_ca.empty();
}

void node_config::prepare_cluster() {
  if (registry_listen < 0 && registry_at.empty())
    return;
  if (cluster_tls()) {
    // CAF's OpenSSL module reads these when it builds a TLS context; with
    // all three set it verifies the peer's chain on both ends.
    openssl_certificate = cluster_cert;
    openssl_key = cluster_key;
    openssl_cafile = cluster_ca;
  }
  // CAF's default (no heartbeat) never notices a frozen peer.
  set("middleman.heartbeat-interval", cluster_heartbeat);
  set("middleman.connection-timeout", cluster_heartbeat * 3);
}

chanstate::ack_mode node_config::ack_mode() const {
  return ack == "async" ? chanstate::ack_mode::async
                        : chanstate::ack_mode::durable;
}

std::chrono::milliseconds node_config::restore_timeout() const {
  return to_ms(restore_timeout_span);
}

} // namespace chanstate
