// The outbound gate: a durability watermark per channel.
#include <chanstate/actors/outbound_gate.hpp>

#include <caf/all.hpp>

namespace chanstate {

void outbound_gate::emit(outbound_frame f) {
  self_->send(transport_, std::move(f));
}

void outbound_gate::send(outbound_frame f) {
  if (!holds_ || (queue_.empty() && durable_ >= seq_)) {
    emit(std::move(f));
    return;
  }
  // Nothing held: ask first. A journal that writes the batch within the
  // call (journal_waiter::await) makes the commit durable at once, and the
  // frame leaves without being queued (no node allocated per reply).
  if (queue_.empty() && asked_ < seq_ && ask_) {
    asked_ = seq_;
    ask_(seq_);
    if (durable_ >= seq_) {
      emit(std::move(f));
      return;
    }
  }
  queue_.push_back({seq_, std::move(f)});
  // Lazily: a run of commits without a frame costs nothing extra, and one
  // request covers every commit before it.
  if (asked_ < seq_) {
    asked_ = seq_;
    if (ask_)
      ask_(seq_);
  }
}

void outbound_gate::durable(std::uint64_t seq) {
  if (seq > durable_)
    durable_ = seq;
  while (!queue_.empty() && queue_.front().seq <= durable_) {
    emit(std::move(queue_.front().frame));
    queue_.pop_front();
  }
}

void outbound_gate::release_all() {
  while (!queue_.empty()) {
    emit(std::move(queue_.front().frame));
    queue_.pop_front();
  }
}

} // namespace chanstate
