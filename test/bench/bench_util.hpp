// Small helpers every scenario shares: options, clocks, percentiles, memory.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace chanstate::bench {

using bench_clock = std::chrono::steady_clock;

/// A Phoenix v2 frame [join_ref, ref, topic, event, payload]; an empty
/// join_ref is sent as null. `payload` is JSON text.
std::string phx_frame(const std::string& jr, const std::string& ref,
                      const std::string& topic, const char* event,
                      const std::string& payload);

/// Microseconds on the steady clock (comparable across threads).
inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           bench_clock::now().time_since_epoch())
    .count();
}

/// `--name=value` flags and bare words, in order.
class options {
public:
  /// Parses argv[first..]; `--x` without a value reads as "true".
  options(int argc, char** argv, int first);

  bool has(const std::string& name) const;
  std::string str(const std::string& name, const std::string& fallback) const;
  std::int64_t num(const std::string& name, std::int64_t fallback) const;
  /// num() as an int, for counts and durations.
  int int_num(const std::string& name, int fallback) const {
    return static_cast<int>(num(name, fallback));
  }
  bool flag(const std::string& name) const;

  /// Every --name given on the command line.
  std::vector<std::string> names() const;

private:
  std::map<std::string, std::string> values_;
};

/// Nearest-rank percentile of sorted samples (the peer uses the same rule).
std::int64_t percentile(const std::vector<std::int64_t>& sorted, int p);

/// Resident set size of this process in bytes, from /proc/self/statm.
std::size_t resident_bytes();

/// Bytes the linked allocator holds (app/allocator.hpp says how it counts).
std::size_t heap_in_use_bytes();

/// Returns freed heap to the OS, then waits `ms` so deferred frees land.
void settle(int ms);

/// Counts arrivals; the waiter wakes when `target` have arrived.
class latch {
public:
  explicit latch(std::size_t target) : target_(target) {
  }

  /// Returns the arrival's index (0-based).
  std::size_t arrive() {
    auto n = count_.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (n == target_) {
      last_us_.store(now_us(), std::memory_order_release);
      std::lock_guard<std::mutex> g{mx_};
      cv_.notify_all();
    }
    return n - 1;
  }

  /// Waits until every arrival is in, at most `timeout`; false on timeout.
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> g{mx_};
    return cv_.wait_for(g, timeout, [this] {
      return count_.load(std::memory_order_acquire) >= target_;
    });
  }

  std::size_t target() const noexcept {
    return target_;
  }

  std::size_t count() const {
    return count_.load(std::memory_order_acquire);
  }

  /// When the last arrival came in (now_us), 0 before that.
  std::int64_t last_us() const {
    return last_us_.load(std::memory_order_acquire);
  }

private:
  std::size_t target_;
  std::atomic<std::size_t> count_{0};
  std::atomic<std::int64_t> last_us_{0};
  std::mutex mx_;
  std::condition_variable cv_;
};

/// CPU seconds this process used so far (user + system).
double cpu_seconds();

/// Share of all cores used by other processes between two samples, in %.
class other_cpu_meter {
public:
  other_cpu_meter();
  /// Percent of the machine's CPU time spent outside this process since
  /// construction; -1 if /proc is unavailable.
  double percent() const;

private:
  std::uint64_t busy0_ = 0;
  std::uint64_t total0_ = 0;
  std::uint64_t self0_ = 0;
};

} // namespace chanstate::bench
