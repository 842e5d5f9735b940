// What the journal writer reports after each transaction: figures for
// /stats and /metrics, and failed writes for the operator's log.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include <boost/json/object.hpp>

#include <chanstate/registry/histogram.hpp>

namespace chanstate {

/// A failed journal write, or the first success after failed ones.
struct journal_write_event {
  /// False: a write failed with `error`; true: writes work again.
  bool recovered = false;
  /// LMDB's (or the store's) text for the failure; empty when recovered.
  std::string error;
  /// Failed attempts in a row, this one included (when recovered: before
  /// the success).
  std::uint64_t failed_attempts = 0;
};

/// Filled by whoever writes a batch (the writer's thread, or the worker of
/// a channel that waits for its commit) after every
/// transaction it tries, read by whoever shows the figures (the registry's
/// stats, on another thread). Thread-safe: one lock, taken once per batch
/// and once per read.
class journal_stats {
public:
  /// Called on the writing thread for each failed write and for the first
  /// success after a failure. Must not block.
  using listener = std::function<void(const journal_write_event&)>;

  /// Bucket bounds: transaction seconds, and keys per transaction.
  static const std::vector<double>& write_seconds_bounds();
  static const std::vector<double>& batch_keys_bounds();

  journal_stats();

  /// One batch of `keys` changed keys was tried and took `took`: a record
  /// of the change log (`logged`) or an LMDB transaction; `error` is empty
  /// if it was written, else why not. Successful batches go into the
  /// histograms; failures are counted and told to the listener.
  void record_batch(std::size_t keys, std::chrono::nanoseconds took,
                    const std::string& error, bool logged = false);

  /// Sets (or clears, with an empty function) the listener. Without one,
  /// the writer says failures on stderr itself.
  void set_listener(listener fn);

  /// True if a listener is set.
  bool has_listener() const;

  /// Failed transactions so far.
  std::uint64_t write_errors() const;

  /// {"batches", "log_batches", "write_errors", "failing", "last_error",
  ///  "batch_write_seconds": histogram, "batch_keys": histogram}.
  boost::json::object to_json() const;

private:
  mutable std::mutex mtx_;
  histogram write_seconds_;
  histogram batch_keys_;
  std::uint64_t write_errors_ = 0;
  std::uint64_t log_batches_ = 0;
  std::uint64_t failed_in_row_ = 0;
  std::string last_error_;
  listener listener_;
};

} // namespace chanstate
