// chanstate-node: the command. Subcommands live in their own files.
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "app/demo.hpp"

namespace {

struct node_config : caf::actor_system_config {
  node_config() {
    // Two cores: more workers than cores only adds wake-up latency
    // (caf-0.17-notes §0, §6). The command line still overrides it.
    set("scheduler.max-threads", 2);
  }
};

int run(caf::actor_system& sys, const node_config& cfg) {
  const auto& args = cfg.remainder;
  if (!args.empty() && args[0] == "demo")
    return chanstate::run_demo(sys);
  std::cerr << "usage: chanstate-node demo\n";
  return 2;
}

} // namespace

// Our own main instead of CAF_MAIN: CAF_MAIN always exits 0, and the exit code
// of every subcommand matters to scripts and tests.
int main(int argc, char** argv) {
  node_config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "chanstate-node: " << caf::actor_system_config::render(err)
              << '\n';
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  return run(sys, cfg);
}
