// The journal writer: coalesce, diff against what is on disk, write a batch.
#include "registry/journal_actor.hpp"

#include <iostream>
#include <mutex>
#include <utility>
#include <optional>
#include <unordered_map>

#include <boost/json/serialize.hpp>
#include <caf/all.hpp>

#include "registry/registry_error.hpp"

namespace chanstate {

namespace {

using wake_atom = caf::atom_constant<caf::atom("cs_jwake")>;

/// Changes waiting for the writer, latest per key. Commits arrive on every
/// channel's thread at event rate; here they cost one uncontended lock and
/// a map assignment, and many commits of one key between two batches are
/// written once. Only the first change after a drain wakes the writer.
struct change_inbox {
  std::mutex mtx;
  std::unordered_map<backup_key, std::optional<snapshot>> changes;
  bool wake_sent = false;

  /// Records a change; true if the caller must wake the writer.
  bool put(const backup_key& key, std::optional<snapshot> what) {
    std::lock_guard<std::mutex> guard{mtx};
    changes[key] = std::move(what);
    if (wake_sent)
      return false;
    wake_sent = true;
    return true;
  }

  std::unordered_map<backup_key, std::optional<snapshot>> drain() {
    std::lock_guard<std::mutex> guard{mtx};
    wake_sent = false;
    return std::exchange(changes, {});
  }
};

struct journal_state {
  static inline const char* name = "chanstate.journal";
  std::shared_ptr<journal_store> store;
  std::shared_ptr<change_inbox> inbox;
  std::unordered_map<backup_key, snapshot> on_disk;
  // Latest wanted state per key since the last batch; nullopt = erase.
  std::unordered_map<backup_key, std::optional<snapshot>> staged;
  bool closed = false; // after a reset: a clean shutdown writes nothing more
  std::uint64_t changes_seen = 0;
  std::uint64_t batches = 0;
  std::uint64_t records_written = 0;
  std::uint64_t write_errors = 0;
};

using journal_ptr = caf::stateful_actor<journal_state>*;

// The records that turn `before` into `after`.
void diff(const snapshot& before, const snapshot& after,
          std::vector<journal_store::assign_change>& out) {
  for_each_change(
    before, after,
    [&](const std::string& name, const snapshot::value_ptr& v) {
      out.push_back({name, v});
    },
    [&](const std::string& name) { out.push_back({name, nullptr}); });
}

// Moves what the observer collected into this batch.
void drain(journal_ptr self) {
  auto& st = self->state;
  auto changes = st.inbox->drain();
  if (st.closed)
    return;
  st.changes_seen += changes.size();
  for (auto& [key, what] : changes)
    st.staged[key] = std::move(what);
}

void flush(journal_ptr self) {
  drain(self);
  auto& st = self->state;
  if (st.staged.empty())
    return;
  std::vector<journal_store::key_change> batch;
  batch.reserve(st.staged.size());
  for (auto& [key, what] : st.staged) {
    journal_store::key_change change;
    change.key = key;
    auto disk = st.on_disk.find(key);
    if (!what) {
      if (disk == st.on_disk.end())
        continue;
      change.erase_all = true;
      st.on_disk.erase(disk);
    } else {
      diff(disk == st.on_disk.end() ? snapshot{} : disk->second, *what,
           change.assigns);
      if (change.assigns.empty())
        continue;
      st.on_disk[key] = std::move(*what);
    }
    st.records_written += change.assigns.size() + (change.erase_all ? 1 : 0);
    batch.push_back(std::move(change));
  }
  st.staged.clear();
  if (batch.empty())
    return;
  ++st.batches;
  if (auto err = st.store->apply(batch)) {
    // Nothing in memory is lost, but a process crash now would lose these
    // changes: say so loudly and count it.
    ++st.write_errors;
    std::cerr << "chanstate journal: write failed: " << describe(err) << '\n';
  }
}

caf::behavior journal_impl(journal_ptr self,
                           std::shared_ptr<journal_store> store,
                           std::shared_ptr<change_inbox> inbox,
                           std::vector<std::pair<backup_key, snapshot>> disk) {
  auto& st = self->state;
  st.store = std::move(store);
  st.inbox = std::move(inbox);
  for (auto& [k, s] : disk)
    st.on_disk.emplace(std::move(k), std::move(s));
  return {
    [self](wake_atom) { flush(self); },
    // Also a barrier for callers: everything they sent before is on disk
    // once the reply arrives.
    [self](caf::flush_atom) -> caf::unit_t {
      flush(self);
      return caf::unit;
    },
    [self](caf::reset_atom) -> caf::result<caf::unit_t> {
      auto& st = self->state;
      st.closed = true;
      st.inbox->drain();
      st.staged.clear();
      st.on_disk.clear();
      if (auto err = st.store->clear())
        return err;
      return caf::unit;
    },
    [self](caf::get_atom) -> caf::result<std::vector<std::pair<backup_key, snapshot>>> {
      flush(self);
      auto all = self->state.store->load();
      if (!all)
        return std::move(all.error());
      return std::move(*all);
    },
    [self](journal_atom) {
      auto& st = self->state;
      return boost::json::serialize(boost::json::object{
        {"changes_seen", st.changes_seen},
        {"batches", st.batches},
        {"records_written", st.records_written},
        {"write_errors", st.write_errors},
        {"refused_long_keys", st.store->refused_long_keys()},
        {"keys_on_disk", st.on_disk.size()},
      });
    },
  };
}

/// Collects the table's changes for the writer; safe from any thread.
class journal_observer : public table_observer {
public:
  journal_observer(std::shared_ptr<change_inbox> inbox, caf::actor writer)
    : inbox_(std::move(inbox)), writer_(std::move(writer)) {
  }

  void committed(const backup_key& key, const snapshot& s) override {
    put(key, s);
  }

  void stored(const backup_key& key, const snapshot& s) override {
    put(key, s);
  }

  void dropped(const backup_key& key) override {
    put(key, std::nullopt);
  }

private:
  void put(const backup_key& key, std::optional<snapshot> what) {
    if (inbox_->put(key, std::move(what)))
      caf::anon_send(writer_, wake_atom::value);
  }

  std::shared_ptr<change_inbox> inbox_;
  caf::actor writer_;
};

} // namespace

journal_handle
spawn_journal(caf::actor_system& sys, std::unique_ptr<journal_store> store,
              std::vector<std::pair<backup_key, snapshot>> on_disk) {
  auto inbox = std::make_shared<change_inbox>();
  auto writer = sys.spawn<caf::detached>(
    journal_impl, std::shared_ptr<journal_store>{std::move(store)}, inbox,
    std::move(on_disk));
  return {writer, std::make_shared<journal_observer>(inbox, writer)};
}

} // namespace chanstate
