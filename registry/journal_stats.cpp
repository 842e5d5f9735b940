// The journal writer's figures, shared with the thread that shows them.
#include <chanstate/registry/journal_stats.hpp>

#include <utility>

namespace chanstate {

const std::vector<double>& journal_stats::write_seconds_bounds() {
  // LMDB without fsync writes a small batch in microseconds; a slow disk,
  // a map that grows or a huge batch take milliseconds to seconds.
  static const std::vector<double> bounds{0.00005, 0.0001, 0.00025, 0.0005,
                                          0.001,   0.0025, 0.005,   0.01,
                                          0.025,   0.05,   0.1,     0.25,
                                          0.5,     1,      2.5};
  return bounds;
}

const std::vector<double>& journal_stats::batch_keys_bounds() {
  // One key per batch when commits trickle in; thousands when a storm's
  // commits coalesce while the previous batch is written.
  static const std::vector<double> bounds{1,   2,   5,    10,   20,   50,
                                          100, 200, 500,  1000, 2000, 5000,
                                          10000};
  return bounds;
}

journal_stats::journal_stats()
  : write_seconds_(write_seconds_bounds(), histogram::unit::seconds),
    batch_keys_(batch_keys_bounds(), histogram::unit::count) {
}

void journal_stats::record_batch(std::size_t keys,
                                 std::chrono::nanoseconds took,
                                 const std::string& error, bool logged) {
  journal_write_event ev;
  listener fn;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (error.empty()) {
      if (logged)
        ++log_batches_;
      write_seconds_.observe(std::chrono::duration<double>(took).count());
      batch_keys_.observe(static_cast<double>(keys));
      if (failed_in_row_ == 0)
        return;
      ev.recovered = true;
      ev.failed_attempts = std::exchange(failed_in_row_, 0);
    } else {
      ++write_errors_;
      ev.failed_attempts = ++failed_in_row_;
      ev.error = last_error_ = error;
    }
    fn = listener_;
  }
  // Outside the lock: the listener logs, and a reader must not wait on it.
  if (fn)
    fn(ev);
}

void journal_stats::set_listener(listener fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  listener_ = std::move(fn);
}

bool journal_stats::has_listener() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return static_cast<bool>(listener_);
}

std::uint64_t journal_stats::write_errors() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return write_errors_;
}

boost::json::object journal_stats::to_json() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return {
    {"batches", write_seconds_.count()},
    {"log_batches", log_batches_},
    {"write_errors", write_errors_},
    {"failing", failed_in_row_ > 0},
    {"last_error", last_error_},
    {"batch_write_seconds", write_seconds_.to_json()},
    {"batch_keys", batch_keys_.to_json()},
  };
}

} // namespace chanstate
