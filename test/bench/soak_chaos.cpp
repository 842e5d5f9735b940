// The chaos signals' counters. The soak has one thread, so a signal sent
// before the kill is handled before any reset the kill causes can be read.
#include "test/bench/soak_chaos.hpp"

#include <signal.h>

#include <atomic>
#include <fstream>

namespace chanstate::bench {

namespace {

std::atomic<int> kill_signals{0};
std::atomic<int> up_signals{0};

extern "C" void on_kill_signal(int) {
  kill_signals.fetch_add(1);
}

extern "C" void on_up_signal(int) {
  up_signals.fetch_add(1);
}

} // namespace

void install_chaos_signals() {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = on_kill_signal;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = on_up_signal;
  sigaction(SIGUSR2, &sa, nullptr);
}

int chaos_kills() {
  return kill_signals.load();
}

int chaos_ups() {
  return up_signals.load();
}

int read_pid_file(const std::string& path) {
  std::ifstream in{path};
  int pid = 0;
  in >> pid;
  return pid > 0 ? pid : 0;
}

} // namespace chanstate::bench
