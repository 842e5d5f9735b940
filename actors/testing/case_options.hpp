// How to build a channel_case: the registry's limits, the channels'
// environment and whether the bench runs the scheduler by itself.
#pragma once

#include <chrono>
#include <cstddef>

#include <chanstate/actors/join.hpp>
#include <chanstate/registry/registry_config.hpp>

namespace chanstate::testing {

/// How to build a channel_case.
struct case_options {
  /// The registry's bounds and guards (TTL, caps, poison guard).
  registry_config registry;
  /// channel_env::write_through.
  bool write_through = true;
  /// channel_env::restore_timeout.
  std::chrono::milliseconds restore_timeout = std::chrono::seconds{10};
  /// channel_env::max_assigns_bytes (0 = no limit).
  std::size_t max_assigns_bytes = channel_env{}.max_assigns_bytes;
  /// Run the scheduler after every helper; off for step-by-step races.
  bool autorun = true;
};

} // namespace chanstate::testing
