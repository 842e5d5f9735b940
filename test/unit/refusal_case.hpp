// The bench of the suites whose joins the registry refuses (restore
// deadline, a registry that ends): the demo channel on "room:*", a channel
// on a frozen node that holds a key, and what the refused join says.
#pragma once

#include <string>
#include <utility>

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/testing/channel_case.hpp>

namespace chanstate::test {

/// A channel on a frozen node: it never reacts to the takeover's exit.
inline caf::behavior frozen_channel(caf::event_based_actor* self, int) {
  self->set_exit_handler([](caf::exit_msg&) {});
  return {[](int) {}};
}

/// The demo channel on "room:*", a frozen key holder, the refusal's detail.
struct refusal_case : testing::channel_case {
  explicit refusal_case(testing::case_options opts = {})
    : channel_case(std::move(opts)) {
    REQUIRE(!route("room:*", demo_channel_factory()));
  }

  /// A frozen channel, watched, that the registry has as the live holder of
  /// (topic, client): a join of that key waits for it to go down.
  caf::actor frozen_holder(const char* topic, const char* client) {
    auto frozen = system().spawn(frozen_channel, 0);
    watch(frozen);
    REQUIRE(ask<restore_outcome>(env().registry, restore_atom::value,
                                 backup_key{topic, client}, frozen));
    return frozen;
  }

  /// The refused join's detail, e.g. "request_timeout: ...", after checking
  /// that it is a refusal with the reason "restore failed".
  std::string refusal(const testing::channel_handle& ch) {
    auto r = join_reply(ch);
    REQUIRE(r);
    CHECK(r->status == "error");
    CHECK(r->response.at("reason") == "restore failed");
    return boost::json::value_to<std::string>(r->response.at("detail"));
  }
};

} // namespace chanstate::test
