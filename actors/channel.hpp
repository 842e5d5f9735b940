// The interface a user implements to write a channel (Phoenix.Channel).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <caf/error.hpp>
#include <caf/message.hpp>

#include <chanstate/actors/json_payload.hpp>
#include <chanstate/actors/socket.hpp>

namespace chanstate {

/// A reply to a client: {"status": status, "response": response}.
struct reply {
  std::string status;
  boost::json::object response;
  /// Fields of `response` that share immutable arrays (e.g. the assigns'
  /// values) instead of copying them; see share_list.
  std::vector<shared_list> shared = {};

  /// Adds field `key` to the response: the concatenation of the arrays in
  /// `parts`, shared by pointer (never copied inside the process; written
  /// out once where the reply leaves it). The client sees a plain array.
  reply& share_list(std::string key,
                    std::vector<std::shared_ptr<const boost::json::value>>
                      parts) {
    shared.push_back({std::move(key), std::move(parts)});
    return *this;
  }

  /// The response as the client sees it, shared lists copied in.
  boost::json::object materialized_response() const {
    json_payload p{response, nullptr};
    if (!shared.empty())
      p.shared = std::make_shared<const shared_lists>(
        shared_lists{std::string{}, shared});
    p.materialize();
    return std::move(p.value);
  }
};

inline reply ok(boost::json::object response = {}) {
  return {"ok", std::move(response)};
}

inline reply error_reply(boost::json::object response) {
  return {"error", std::move(response)};
}

/// The result of join: serve (with a reply) or refuse (with a reply).
struct join_result {
  bool accepted = true;
  boost::json::object response;

  static join_result accept(boost::json::object response = {}) {
    return {true, std::move(response)};
  }

  static join_result refuse(boost::json::object response) {
    return {false, std::move(response)};
  }
};

/// The result of handle_in / handle_info: Phoenix's {:reply, ...},
/// {:noreply, ...} and {:stop, reason, [reply,] ...}.
struct handle_result {
  std::optional<reply> answer;
  bool stop = false;
  caf::error stop_reason; // none = normal stop: the backup is discarded

  static handle_result noreply() {
    return {};
  }

  static handle_result with_reply(reply r) {
    return {std::move(r), false, caf::none};
  }

  /// Stops the channel; a non-normal reason keeps its backup.
  static handle_result stop_with(caf::error reason = caf::none,
                                 std::optional<reply> r = std::nullopt) {
    return {std::move(r), true, std::move(reason)};
  }
};

/// One channel instance, created per join by its factory. A handler that
/// throws crashes the channel: nothing it assigned is committed, the client
/// gets phx_error, and the assigns of the last completed handler survive.
class channel {
public:
  virtual ~channel() = default;

  /// Runs before anything else is served; `s.restored()` tells whether the
  /// assigns came from a backup.
  virtual join_result join(const boost::json::object& params, socket& s) = 0;

  /// A client event.
  virtual handle_result handle_in(const std::string& event,
                                  const boost::json::object& payload,
                                  socket& s) = 0;

  /// Any other message sent to the channel actor.
  virtual handle_result handle_info(const caf::message& msg, socket& s);

  /// Runs when the channel ends through leave, close or stop (not on a
  /// crash and not on a kill: state that must survive is already committed).
  virtual void terminate(const caf::error& reason, socket& s);
};

using channel_factory = std::function<std::unique_ptr<channel>()>;

} // namespace chanstate
