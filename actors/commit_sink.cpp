// Publishing a commit, locally or across nodes.
#include <chanstate/actors/commit_sink.hpp>

#include <caf/all.hpp>

#include <chanstate/registry/remote_protocol.hpp>

namespace chanstate {

void commit_sink::publish(snapshot& s, outbound_gate& gate) {
  auto seq = gate.committed();
  if (cell_) {
    // A journal, if any, already has the change in its inbox: the gate asks
    // it for durability only when a frame has to wait. The socket keeps a
    // view: only this channel replaces the cell's state, and the cell
    // outlives the socket (the socket holds it).
    cell_->store(s.hand_over());
    return;
  }
  auto* g = &gate;
  auto& r = *remote_;
  r.self
    ->request(r.registry, caf::infinite, commit_atom::value, r.key,
              encode_delta(r.last, s))
    .then([g, seq](bool) { g->durable(seq); },
          // Unreachable registry: the reattach after the reconnect carries
          // the full state and acknowledges every commit before it.
          [](caf::error&) {});
  r.last = s;
}

} // namespace chanstate
