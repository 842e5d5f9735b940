// chanstate-node's config file: CAF's INI with `#` comments and no unknown
// keys, checked before CAF sees it.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace chanstate {

/// Whether `key` in `[section]` is an option; top-level keys are in
/// section "global".
using known_key_fn
  = std::function<bool(std::string_view section, std::string_view key)>;

/// Why `value` (as written in the file) does not fit option `key` in
/// `[section]`, or empty if it does or the option is unknown.
using value_check_fn = std::function<std::string(
  std::string_view section, std::string_view key, std::string_view value)>;

/// Checks the text of a config file and returns it as CAF's INI parser
/// takes it. The format, line by line: blank; a comment (`#` or `;` first);
/// `[section]`; or `key = value`, where the value is written as on the
/// command line (quote strings that contain `#` or `;`) and may end in a
/// comment. Fails with the line number and what is wrong: an unknown key
/// (named as on the command line, e.g. `--max-chanels`), or a line of
/// another shape; with `check`, also a value `check` refuses (CAF drops
/// a value of the wrong type without a word).
caf::expected<std::string> clean_config(std::string_view text,
                                        const known_key_fn& known,
                                        const value_check_fn& check = {});

} // namespace chanstate
