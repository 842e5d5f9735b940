// Errors of the registry and the exit reasons whose meaning it decides.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace chanstate {

/// Failures the registry reports to callers.
enum class registry_error : uint8_t {
  invalid_key = 1,   // empty topic or empty client id
  not_an_object,     // imported assigns are not a JSON object
  invalid_json,      // imported assigns do not parse
  no_backup,         // nothing is stored for that key
  superseded,        // a newer join for the same key replaced this request
  journal_unusable,  // the journal cannot be opened or written
  journal_too_new,   // the journal was written by a newer format
  journal_corrupt,   // the journal's contents do not parse
  unreachable,       // the registry on another node cannot be reached now
};

/// Why a channel ended, beyond CAF's own reasons. The registry reads these in
/// down messages to apply the exit matrix (see exit_policy.hpp).
enum class channel_exit : uint8_t {
  crashed = 1,        // a handler threw
  stopped_with_error, // a handler asked to stop with a non-normal reason
  transport_lost,     // the client's connection dropped without a close
  taken_over,         // a newer join for the same key took the state over
  join_refused,       // join/3 said no, or the restore could not be done
  untracked,          // already gone when a restarted registry looked again
};

/// The enumerator's name, e.g. "superseded".
std::string to_string(registry_error x);
/// The enumerator's name, e.g. "crashed".
std::string to_string(channel_exit x);

/// ": <context>" of an error, or empty; a single string context is bare.
std::string context_text(const caf::error& err);

/// Renders any error, including ours, for logs and client replies.
std::string describe(const caf::error& err);

} // namespace chanstate

CAF_ERROR_CODE_ENUM(chanstate::registry_error, "cs_reg")
CAF_ERROR_CODE_ENUM(chanstate::channel_exit, "cs_exit")
