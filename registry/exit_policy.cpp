// The exit matrix, in one place so the registry and its tests agree.
#include <chanstate/registry/exit_policy.hpp>

#include <cstdint>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/exit_reason.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

namespace {

// The categories make_error gives these enums, read from CAF once (a
// non-zero code: an error with code 0 is no error).
caf::atom_value exit_category() {
  static const auto cat = caf::make_error(caf::exit_reason::kill).category();
  return cat;
}

caf::atom_value channel_exit_category() {
  static const auto cat = caf::make_error(channel_exit::crashed).category();
  return cat;
}

} // namespace

bool is_reason(const caf::error& reason, caf::exit_reason code) {
  return reason && reason.code() == static_cast<std::uint8_t>(code)
         && reason.category() == exit_category();
}

bool is_reason(const caf::error& reason, channel_exit code) {
  return reason && reason.code() == static_cast<std::uint8_t>(code)
         && reason.category() == channel_exit_category();
}

exit_verdict classify_exit(const caf::error& reason) {
  if (!reason || is_reason(reason, caf::exit_reason::user_shutdown))
    return exit_verdict::discard;
  // These end a channel from outside, not through its own code: keep the
  // state, but never count a crash, or a flaky network or an operator's
  // kill could make the poison guard set a good state aside.
  if (is_reason(reason, caf::exit_reason::kill)
      || is_reason(reason, channel_exit::transport_lost)
      || is_reason(reason, channel_exit::taken_over)
      || is_reason(reason, channel_exit::join_refused)
      || is_reason(reason, channel_exit::untracked)
      || is_reason(reason, caf::exit_reason::remote_link_unreachable))
    return exit_verdict::keep;
  return exit_verdict::keep_crash;
}

const char* to_string(exit_verdict x) {
  switch (x) {
    case exit_verdict::discard:
      return "discard";
    case exit_verdict::keep:
      return "keep";
    case exit_verdict::keep_crash:
      return "keep_crash";
  }
  return "?";
}

} // namespace chanstate
