// chanstate-node: the command. Subcommands live in their own files; serving
// is chanstate::serve (app/node.cpp), as in any other service.
#include <cstring>
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>

#include <chanstate/actors/channel_error.hpp>
#include <chanstate/version.hpp>

#include "app/allocator.hpp"
#include "app/demo.hpp"
#include <chanstate/endpoint/log.hpp>
#include "app/node.hpp"
#include "app/node_config.hpp"
#include "app/token_command.hpp"

namespace {

constexpr const char* usage
  = "usage: chanstate-node [options]       serve the Phoenix endpoint\n"
    "       chanstate-node demo [options]  run the seed scenario in-process\n"
    "       chanstate-node token --sub=ID [--ttl=1h] [--claims=JSON]\n"
    "                      --token-secret-file=PATH   print a signed token\n"
    "       chanstate-node --version       print the version\n";

bool has_flag(int argc, char** argv, std::initializer_list<const char*> opts) {
  for (int i = 1; i < argc; ++i)
    for (auto opt : opts)
      if (std::strcmp(argv[i], opt) == 0)
        return true;
  return false;
}

} // namespace

// Our own main instead of CAF_MAIN: CAF_MAIN always exits 0, and the exit code
// of every subcommand matters to scripts and tests (2: bad options).
int main(int argc, char** argv) {
  chanstate::apply_allocator_defaults();
  if (has_flag(argc, argv, {"--version", "-V"})) {
    std::cout << "chanstate-node " << chanstate::version << '\n';
    return 0;
  }
  chanstate::node_config cfg;
  // CAF prints the option list itself; say first what the command does,
  // and the scheduler's options, which CAF lists only under --long-help.
  if (has_flag(argc, argv, {"-h", "-?", "--help", "--long-help"}))
    std::cout << usage << "allocator: " << chanstate::allocator_name()
              << "\nscheduler: --scheduler.policy=stealing|sharing (default "
              << cfg.scheduler_policy()
              << "), --scheduler.max-threads=N (default "
              << cfg.scheduler_threads()
              << "), --work-stealing.aggressive-poll-attempts=N (default "
              << cfg.steal_polls().first
              << ") and .moderate-poll-attempts=N (default "
              << cfg.steal_polls().second << "); see --long-help\n\n";
  if (auto err = cfg.parse_command_line(argc, argv)) {
    std::cerr << "chanstate-node: " << chanstate::explain(err) << '\n';
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (auto why = cfg.invalid(); !why.empty()) {
    std::cerr << "chanstate-node: " << why << '\n';
    return 2;
  }
  chanstate::setup_logging(*chanstate::parse_log_level(cfg.log_level),
                           *chanstate::parse_log_format(cfg.log_format));
  cfg.prepare_cluster();
  cfg.load<caf::io::middleman>();
  if (cfg.cluster_tls())
    cfg.load<caf::openssl::manager>();
  else if (cfg.cluster_insecure)
    std::cerr << "chanstate-node: warning: --cluster-insecure: the registry "
                 "link is neither encrypted nor authenticated\n";
  caf::actor_system sys{cfg};
  const auto& args = cfg.remainder;
  if (args.empty())
    return chanstate::run_node(sys, cfg);
  if (args[0] == "demo")
    return chanstate::run_demo(sys);
  if (args[0] == "token")
    return chanstate::run_token_command({args.begin() + 1, args.end()},
                                        cfg.token_secret_file);
  std::cerr << usage;
  return 2;
}
