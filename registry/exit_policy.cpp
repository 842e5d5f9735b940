// The exit matrix, in one place so the registry and its tests agree.
#include <chanstate/registry/exit_policy.hpp>

#include <caf/exit_reason.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

exit_verdict classify_exit(const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::user_shutdown)
    return exit_verdict::discard;
  // These end a channel from outside, not through its own code: keep the
  // state, but never count a crash, or a flaky network or an operator's
  // kill could make the poison guard set a good state aside.
  if (reason == caf::exit_reason::kill
      || reason == channel_exit::transport_lost
      || reason == channel_exit::taken_over
      || reason == channel_exit::join_refused
      || reason == channel_exit::untracked
      || reason == caf::exit_reason::remote_link_unreachable)
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
