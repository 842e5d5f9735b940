// chanstate-node: the command. Subcommands live in their own files.
#include <cstring>
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "app/demo.hpp"
#include "app/log.hpp"
#include "app/node.hpp"
#include "app/node_config.hpp"

namespace {

constexpr const char* usage
  = "usage: chanstate-node [options]       serve the Phoenix endpoint\n"
    "       chanstate-node demo [options]  run the seed scenario in-process\n";

bool wants_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    for (auto opt : {"-h", "-?", "--help", "--long-help"})
      if (std::strcmp(argv[i], opt) == 0)
        return true;
  return false;
}

int run(caf::actor_system& sys, const chanstate::node_config& cfg) {
  const auto& args = cfg.remainder;
  if (args.empty())
    return chanstate::run_node(sys, cfg);
  if (args[0] == "demo")
    return chanstate::run_demo(sys);
  std::cerr << usage;
  return 2;
}

} // namespace

// Our own main instead of CAF_MAIN: CAF_MAIN always exits 0, and the exit code
// of every subcommand matters to scripts and tests.
int main(int argc, char** argv) {
  chanstate::node_config cfg;
  // CAF prints the option list itself; say first what the command does.
  if (wants_help(argc, argv))
    std::cout << usage << '\n';
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "chanstate-node: " << caf::actor_system_config::render(err)
              << '\n';
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
  caf::actor_system sys{cfg};
  return run(sys, cfg);
}
