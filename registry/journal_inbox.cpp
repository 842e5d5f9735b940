// The journal's inbox: the changes waiting to be written, and the channels
// waiting for them (journal_core.hpp).
#include <chanstate/registry/journal_core.hpp>

#include <algorithm>
#include <iterator>
#include <utility>

#include <caf/all.hpp>

namespace chanstate::journal_detail {

bool change_inbox::settled(const backup_key& key) {
  std::lock_guard<std::mutex> guard{mtx};
  return closed || (!in_flight && changes.count(key) == 0);
}

bool change_inbox::park(const backup_key& key, const caf::actor& notify,
                        std::uint64_t seq) {
  std::lock_guard<std::mutex> guard{mtx};
  if (closed || (!in_flight && changes.count(key) == 0))
    return true;
  ++waits_noted;
  waiters.push_back({key, notify.address(), seq});
  return false;
}

std::vector<change_inbox::waiter> change_inbox::written(std::size_t* left) {
  std::lock_guard<std::mutex> guard{mtx};
  in_flight = false;
  std::vector<waiter> done;
  if (left)
    *left = 0;
  if (waiters.empty())
    return done;
  // A waiter whose key has a newer change stays: its frame follows that
  // change too (the channel went on handling events), so the batch that
  // settles the key answers it.
  auto keep = std::stable_partition(waiters.begin(), waiters.end(),
                                    [&](const waiter& w) {
                                      return changes.count(w.key) != 0;
                                    });
  done.assign(std::make_move_iterator(keep),
              std::make_move_iterator(waiters.end()));
  waiters.erase(keep, waiters.end());
  if (left)
    *left = waiters.size();
  return done;
}

std::size_t change_inbox::waiting() {
  std::lock_guard<std::mutex> guard{mtx};
  return waiters.size();
}

std::uint64_t change_inbox::noted() {
  std::lock_guard<std::mutex> guard{mtx};
  return waits_noted;
}

std::vector<change_inbox::waiter> change_inbox::close() {
  std::lock_guard<std::mutex> guard{mtx};
  closed = true;
  return std::exchange(waiters, {});
}

bool change_inbox::put(const backup_key& key, const snapshot* what) {
  std::lock_guard<std::mutex> guard{mtx};
  auto& slot = changes[key];
  if (what)
    slot = *what;
  else
    slot.reset();
  if (wake_sent)
    return false;
  wake_sent = true;
  return true;
}

bool change_inbox::empty() {
  std::lock_guard<std::mutex> guard{mtx};
  return changes.empty();
}

change_inbox::change_map change_inbox::drain(bool by_writer) {
  std::lock_guard<std::mutex> guard{mtx};
  if (by_writer)
    wake_sent = false;
  ++drains;
  if (!changes.empty())
    in_flight = true;
  return std::exchange(changes, {});
}

bool change_inbox::take(const backup_key& key, std::optional<snapshot>& into) {
  std::lock_guard<std::mutex> guard{mtx};
  auto i = changes.find(key);
  if (i == changes.end())
    return false;
  in_flight = true;
  into = std::move(i->second);
  changes.erase(i);
  return true;
}

std::uint64_t change_inbox::drains_now() {
  std::lock_guard<std::mutex> guard{mtx};
  return drains;
}

change_inbox::linger_end
change_inbox::after_linger(std::uint64_t& drains_seen) {
  std::lock_guard<std::mutex> guard{mtx};
  if (changes.empty()) {
    wake_sent = false;
    return linger_end::idle;
  }
  if (drains != drains_seen) {
    drains_seen = drains;
    return linger_end::again;
  }
  return linger_end::write;
}

void notify(std::vector<change_inbox::waiter> ws, caf::execution_unit* host) {
  for (auto& w : ws)
    if (auto ch = caf::actor_cast<caf::strong_actor_ptr>(w.who))
      ch->enqueue(nullptr, caf::make_message_id(),
                  caf::make_message(journal_durable_atom::value, w.seq),
                  host);
}

} // namespace chanstate::journal_detail
