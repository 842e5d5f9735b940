// `chanstate-node token`: prints a signed identity token (for operators and
// tests).
#pragma once

#include <string>
#include <vector>

namespace chanstate {

/// Runs `token --sub=ID [--ttl=1h] [--claims=JSON] --token-secret-file=PATH`
/// with `args` the words after "token"; `secret_file` is the node option's
/// value when it came before the subcommand. Prints the token on stdout;
/// returns the exit code (2 for bad usage).
int run_token_command(const std::vector<std::string>& args,
                      std::string secret_file);

/// Parses a duration such as "90", "90s", "15m", "1h", "7d" into seconds;
/// -1 if it is not one.
long long parse_ttl_seconds(const std::string& text);

} // namespace chanstate
