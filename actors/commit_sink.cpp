// Publishing a commit, locally or across nodes.
#include "actors/commit_sink.hpp"

#include <caf/all.hpp>

#include "registry/remote_protocol.hpp"

namespace chanstate {

void commit_sink::publish(const snapshot& s) {
  if (cell_) {
    cell_->store(s);
    return;
  }
  self_->send(registry_, commit_atom::value, key_, encode_delta(last_, s));
  last_ = s;
}

} // namespace chanstate
