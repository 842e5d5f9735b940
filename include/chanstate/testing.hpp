// Everything a test of a chanstate channel needs: channel_case, a
// deterministic bench (CAF's test_coordinator, virtual time) that joins,
// pushes, crashes, kills and rejoins any channel you route. No test
// framework is attached: use doctest, Catch2, GoogleTest or plain asserts.
//
//   #include <chanstate/testing.hpp>
//   chanstate::testing::channel_case t;
//   t.route("counter:*", [] { return std::make_unique<counter>(); });
//   auto ch = t.join("counter:1", "alice");
//   t.crash(ch);
//   auto again = t.rejoin(ch);                  // restored from the backup
#pragma once

#include <chanstate/chanstate.hpp>

#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/actors/testing/crashable_channel.hpp>
