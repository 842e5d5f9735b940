// Topic patterns ("room:*", "lobby") to channel implementations.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include <chanstate/actors/channel.hpp>

namespace chanstate {

/// Maps topics to channel factories, like Phoenix's `channel "room:*", Room`.
/// A pattern is an exact topic or a prefix ending in one '*'. Routes are
/// matched in the order they were added.
class router {
public:
  /// Adds a route; fails with channel_error::invalid_pattern for an empty
  /// pattern, a '*' anywhere but at the end, or a missing factory.
  caf::error add(std::string pattern, channel_factory factory);

  /// The factory for `topic`, or nullptr if no route matches.
  const channel_factory* match(std::string_view topic) const;

private:
  struct route {
    std::string prefix;
    bool wildcard;
    channel_factory factory;
  };
  std::vector<route> routes_;
};

} // namespace chanstate
