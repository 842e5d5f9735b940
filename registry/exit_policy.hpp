// The exit matrix: what a channel's down reason means for its backup.
#pragma once

#include <caf/error.hpp>

namespace chanstate {

/// What the registry does with a channel's last commit when it goes down.
enum class exit_verdict {
  discard,    // ended on purpose (leave, clean close, normal stop, shutdown)
  keep,       // ended by something outside the state (transport, node, takeover)
  keep_crash, // ended abnormally by its own code (the poison guard looks)
};

/// Applies the exit matrix of design.md to a down reason.
exit_verdict classify_exit(const caf::error& reason);

const char* to_string(exit_verdict x);

} // namespace chanstate
