// Socket: assigns bookkeeping and the handler's ways out.
#include <chanstate/actors/socket.hpp>

#include <caf/all.hpp>

#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/outbound_gate.hpp>

namespace chanstate {

socket::socket(std::string topic, std::string client_id, std::string join_ref,
               snapshot assigns, bool restored, std::string restore_note,
               std::size_t fallback_generation,
               std::shared_ptr<const boost::json::object> claims)
  : join_ref_(std::move(join_ref)),
    assigns_(std::move(assigns)),
    extras_(std::make_unique<extras>(
      extras{std::move(restore_note), fallback_generation, std::move(claims),
             std::make_unique<const backup_key>(
               backup_key{std::move(topic), std::move(client_id)}),
             nullptr})),
    restored_(restored) {
}

socket::socket(commit_sink sink, std::string join_ref, bool restored,
               std::string restore_note, std::size_t fallback_generation,
               std::shared_ptr<const boost::json::object> claims)
  : sink_(std::move(sink)),
    join_ref_(std::move(join_ref)),
    assigns_(sink_.initial()),
    restored_(restored) {
  if (!restore_note.empty() || fallback_generation != 0 || claims)
    extras_ = std::make_unique<extras>(extras{std::move(restore_note),
                                              fallback_generation,
                                              std::move(claims), nullptr,
                                              nullptr});
}

const boost::json::object& socket::claims() const noexcept {
  static const boost::json::object none;
  return extras_ && extras_->claims ? *extras_->claims : none;
}

const std::string& socket::restore_note() const noexcept {
  static const std::string none;
  return extras_ ? extras_->restore_note : none;
}

void socket::assign(std::string key, boost::json::value value) {
  // In place when this handler already made its own map (a second assign
  // before the commit): nothing else can see that map yet. Otherwise the
  // map the last commit displaced is reused, so a commit after a commit
  // allocates no map (write-through's cost per event).
  if (assigns_.unshared())
    assigns_.set(std::move(key), std::move(value));
  else
    assigns_.set(std::move(key), std::move(value), sink_.take_spare());
  dirty_ = true;
}

void socket::unassign(std::string_view key) {
  auto next = assigns_.without(key);
  if (!next.same_as(assigns_)) {
    assigns_ = std::move(next);
    dirty_ = true;
  }
}

void socket::push(std::string event, boost::json::object payload) {
  outbound_frame f;
  f.kind = frame_kind::push;
  f.join_ref = join_ref_;
  f.topic = topic();
  f.event = std::move(event);
  f.payload.value = std::move(payload);
  if (holding_ || !gate_) {
    if (!extras_)
      extras_ = std::make_unique<extras>();
    if (!extras_->held)
      extras_->held = std::make_unique<std::vector<outbound_frame>>();
    extras_->held->push_back(std::move(f));
  } else
    gate_->send(std::move(f));
}

void socket::broadcast(std::string event, boost::json::object payload) {
  if (gate_ && pubsub_)
    gate_->self()->send(pubsub_, caf::publish_atom::value,
                        topic_broadcast{topic(), std::move(event),
                                        {std::move(payload)}},
                        caf::actor_addr{});
}

void socket::broadcast_from(std::string event, boost::json::object payload) {
  if (gate_ && pubsub_)
    gate_->self()->send(pubsub_, caf::publish_atom::value,
                        topic_broadcast{topic(), std::move(event),
                                        {std::move(payload)}},
                        gate_->self()->address());
}

} // namespace chanstate
