// Default callbacks of the channel interface.
#include <chanstate/actors/channel.hpp>

namespace chanstate {

handle_result channel::handle_info(const caf::message&, socket&) {
  return handle_result::noreply();
}

void channel::terminate(const caf::error&, socket&) {
  // Nothing to do by default: state that must survive is already committed.
}

} // namespace chanstate
