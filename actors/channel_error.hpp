// Errors of the channel layer's API.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace chanstate {

/// Misuse of the channel layer's API (routes, joins, channel_env), as
/// errors of category "cs_chan"; explain() renders them.
enum class channel_error : uint8_t {
  invalid_pattern = 1, // a route pattern that cannot match as written
  unmatched_topic,     // no route serves the topic
  invalid_topic,       // empty topic
  invalid_client_id,   // empty client id
  not_an_object,       // assigns or payload that is not a JSON object
  no_transport,        // a join without an actor to reply to
  no_registry,         // a channel_env without a registry
};

/// The enumerator's name, e.g. "unmatched_topic".
std::string to_string(channel_error x);

/// Like describe() of the registry, and also knows channel_error.
std::string explain(const caf::error& err);

} // namespace chanstate

CAF_ERROR_CODE_ENUM(chanstate::channel_error, "cs_chan")
