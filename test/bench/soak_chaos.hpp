// The soak-chaos script's signals: SIGUSR1 comes before each SIGKILL of the
// node, SIGUSR2 once the restarted node listens (its pid in a file).
#pragma once

#include <string>

namespace chanstate::bench {

/// Installs the handlers that count the two signals.
void install_chaos_signals();

/// How many SIGUSR1 (a node kill is coming) arrived so far.
int chaos_kills();

/// How many SIGUSR2 (a restarted node listens) arrived so far.
int chaos_ups();

/// The pid in `path` (the soak script writes it), 0 if there is none.
int read_pid_file(const std::string& path);

} // namespace chanstate::bench
