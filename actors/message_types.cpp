// The names chanstate's types carry on the wire between nodes.
#include <chanstate/actors/message_types.hpp>

#include <chanstate/actors/frames.hpp>
#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/remote_protocol.hpp>

namespace chanstate {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<backup_key>("chanstate::backup_key");
  cfg.add_message_type<remote_restore>("chanstate::remote_restore");
  cfg.add_message_type<json_payload>("chanstate::json_payload");
  cfg.add_message_type<client_event>("chanstate::client_event");
  cfg.add_message_type<outbound_frame>("chanstate::outbound_frame");
  cfg.add_message_type<topic_broadcast>("chanstate::topic_broadcast");
}

} // namespace chanstate
