// The actor that runs one channel instance.
//
//   spawned ──restore request──▶ restoring ──join accepted──▶ serving
//                                   │    └──join refused──▶ ended (join_refused)
//                                   └──registry error/timeout──▶ ended (join_refused)
//   serving ──leave / clean close / normal stop──▶ ended (normal: backup dropped)
//   serving ──throw / error stop / kill / transport lost──▶ ended (backup kept)
//
// While restoring, client events stay in the mailbox and are handled in order
// once serving; exit messages (takeover, kill) still act at once.
#pragma once

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include <chanstate/actors/join.hpp>

namespace chanstate {

/// Spawns the channel actor for an already validated request.
caf::actor spawn_channel(caf::actor_system& sys, const channel_env& env,
                         join_request req, const channel_factory& factory);

} // namespace chanstate
