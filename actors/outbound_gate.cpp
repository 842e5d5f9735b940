// The outbound gate: a durability watermark per channel.
#include <chanstate/actors/outbound_gate.hpp>

#include <caf/all.hpp>

namespace chanstate {

void outbound_gate::emit(outbound_frame f) {
  self_->send(transport_, std::move(f));
}

void outbound_gate::send(outbound_frame f) {
  if (!hold_ || (hold_->queue.empty() && durable_ >= seq_)) {
    emit(std::move(f));
    return;
  }
  auto& h = *hold_;
  // Nothing held: ask first. A journal that writes the batch within the
  // call (journal_waiter::await) makes the commit durable at once, and the
  // frame leaves without being queued (no node allocated per reply).
  if (h.queue.empty() && h.asked < seq_ && h.ask) {
    h.asked = seq_;
    h.ask(seq_);
    if (durable_ >= seq_) {
      emit(std::move(f));
      return;
    }
  }
  h.queue.push_back({seq_, std::move(f)});
  // Lazily: a run of commits without a frame costs nothing extra, and one
  // request covers every commit before it.
  if (h.asked < seq_) {
    h.asked = seq_;
    if (h.ask)
      h.ask(seq_);
  }
}

void outbound_gate::durable(std::uint64_t seq) {
  if (seq > durable_)
    durable_ = seq;
  if (!hold_)
    return;
  auto& q = hold_->queue;
  while (!q.empty() && q.front().seq <= durable_) {
    emit(std::move(q.front().frame));
    q.pop_front();
  }
}

void outbound_gate::release_all() {
  if (!hold_)
    return;
  auto& q = hold_->queue;
  while (!q.empty()) {
    emit(std::move(q.front().frame));
    q.pop_front();
  }
}

} // namespace chanstate
