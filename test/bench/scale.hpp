// The scale scenario: a million channels crash at once and all come back.
#pragma once

#include <boost/json/object.hpp>
#include <caf/fwd.hpp>

#include "test/bench/bench_util.hpp"

namespace chanstate::bench {

/// scale --channels [--transports] [--pubsub]: joins N channels holding a
/// small state, crashes them all at once, and waits until every client has
/// rejoined and checked its state with a `get`.
boost::json::object run_scale(caf::actor_system& sys, const options& opts);

} // namespace chanstate::bench
