// The in-process scenarios: real registry and channels, actor transports.
// One lightweight client actor per channel plays the transport; results go
// into pre-sized slots and latches, so no scenario pays for scoped_actor
// round trips on its measured path. steady.cpp, recover.cpp
// (recover and kill) and memory.cpp; in_process_common.hpp (the measured
// node, waits) and recovery_client.hpp (the clients of recover, kill and
// memory) are what they share.
#pragma once

#include <boost/json/object.hpp>
#include <caf/fwd.hpp>

#include "test/bench/bench_util.hpp"

namespace chanstate::bench {

/// steady --channels --events [--every]: events/s with write-through ON and OFF.
boost::json::object run_steady(caf::actor_system& sys, const options& opts);

/// recover --channels --payload: all channels crash at once and rejoin.
boost::json::object run_recover(caf::actor_system& sys, const options& opts);

/// kill --channels [--after-crash] [--payload]: all channels are killed.
boost::json::object run_kill(caf::actor_system& sys, const options& opts);

/// memory --backups --payload: bytes per backup and per idle channel.
boost::json::object run_memory(caf::actor_system& sys, const options& opts);

} // namespace chanstate::bench
