// Names for the channel layer's error codes.
#include <chanstate/actors/channel_error.hpp>

#include <caf/atom.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

std::string to_string(channel_error x) {
  switch (x) {
    case channel_error::invalid_pattern:
      return "invalid_pattern";
    case channel_error::unmatched_topic:
      return "unmatched_topic";
    case channel_error::invalid_topic:
      return "invalid_topic";
    case channel_error::invalid_client_id:
      return "invalid_client_id";
    case channel_error::not_an_object:
      return "not_an_object";
    case channel_error::no_transport:
      return "no_transport";
    case channel_error::no_registry:
      return "no_registry";
  }
  return "channel_error(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string explain(const caf::error& err) {
  if (err.category() != caf::atom("cs_chan"))
    return describe(err);
  return to_string(static_cast<channel_error>(err.code())) + context_text(err);
}

} // namespace chanstate
