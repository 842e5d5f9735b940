// The exit matrix: what a channel's down reason means for its backup.
#pragma once

#include <caf/error.hpp>
#include <caf/exit_reason.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

/// What the registry does with a channel's last commit when it goes down.
enum class exit_verdict {
  discard,    // ended on purpose (leave, clean close, normal stop, shutdown)
  keep,       // ended by something outside the state (transport, node, takeover)
  keep_crash, // ended abnormally by its own code (the poison guard looks)
};

/// Applies the exit matrix (README, "The exit matrix") to a down reason.
/// Allocates nothing: it runs once per channel end (every crash of a storm).
exit_verdict classify_exit(const caf::error& reason);

/// True if `reason` is `code` (category and code; false for no error).
/// Unlike CAF 0.17's `reason == code`, it builds no heap-allocated error
/// to compare with.
bool is_reason(const caf::error& reason, caf::exit_reason code);

/// True if `reason` is `code` (category and code), without allocating.
bool is_reason(const caf::error& reason, channel_exit code);

/// The verdict's name, e.g. "keep_crash".
const char* to_string(exit_verdict x);

} // namespace chanstate
