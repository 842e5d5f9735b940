// Profiles only a scenario's measured phase.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace chanstate::bench {

/// With CHANSTATE_BENCH_PERF_CTL naming the control FIFO of `perf record -D
/// -1 --control=fifo:FIFO` (or `perf stat`), sampling is switched on when
/// the window opens and off when it closes, so set-up, warm-up and leaves
/// stay out of the profile. Without the variable (or `measured` false) it
/// does nothing.
class perf_window {
public:
  explicit perf_window(bool measured = true) {
    const char* fifo = std::getenv("CHANSTATE_BENCH_PERF_CTL");
    if (!fifo || !measured)
      return;
    out_ = std::fopen(fifo, "w");
    if (!out_) {
      std::fprintf(stderr, "perf_window: cannot open %s; not profiling\n",
                   fifo);
      return;
    }
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
    std::fputs(cmd, out_);
    // perf must see the command now, not when the window closes.
    std::fflush(out_);
  }

  std::FILE* out_ = nullptr;
};

} // namespace chanstate::bench
