// The journal writer: coalesce, diff against what is on disk, write a batch.
#include <chanstate/registry/journal_actor.hpp>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <mutex>
#include <utility>
#include <optional>
#include <unordered_map>

#include <boost/json/serialize.hpp>
#include <caf/all.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

namespace {

using wake_atom = caf::atom_constant<caf::atom("cs_jwake")>;
// Writes a batch for the syncs waiting in the mailbox (group commit).
using sync_now_atom = caf::atom_constant<caf::atom("cs_jsnow")>;
using retry_atom = caf::atom_constant<caf::atom("cs_jretry")>;

/// Changes waiting for the writer, latest per key. Commits arrive on every
/// channel's thread at event rate; here they cost one uncontended lock and
/// a map assignment, and many commits of one key between two batches are
/// written once. Only the first change after a drain wakes the writer.
struct change_inbox : journal_waiter {
  std::mutex mtx;
  std::unordered_map<backup_key, std::optional<snapshot>> changes;
  bool wake_sent = false;
  // Each drain closes a generation: `changes` belongs to open_gen; every
  // change of a generation ≤ written_gen is on disk.
  std::uint64_t open_gen = 1;
  std::uint64_t written_gen = 0;
  bool closed = false; // a clean shutdown: nothing is waited for any more
  struct waiter {
    std::uint64_t gen;
    caf::actor_addr who; // weak: a waiting channel may end meanwhile
    std::uint64_t seq;
  };
  std::vector<waiter> waiters;

  bool await(const caf::actor& notify, std::uint64_t seq) override {
    std::lock_guard<std::mutex> guard{mtx};
    if (closed)
      return true;
    // The caller's changes were put before this call: in the open
    // generation if it has any (a wake is then pending), else in one already
    // drained, which is written or being written.
    auto gen = changes.empty() ? open_gen - 1 : open_gen;
    if (written_gen >= gen)
      return true;
    waiters.push_back({gen, notify.address(), seq});
    return false;
  }

  /// Everything drained up to `gen` is on disk: the waiters it covers.
  std::vector<waiter> written(std::uint64_t gen) {
    std::lock_guard<std::mutex> guard{mtx};
    if (gen > written_gen)
      written_gen = gen;
    std::vector<waiter> done;
    auto keep = std::partition(waiters.begin(), waiters.end(),
                               [&](const waiter& w) {
                                 return w.gen > written_gen;
                               });
    done.assign(std::make_move_iterator(keep),
                std::make_move_iterator(waiters.end()));
    waiters.erase(keep, waiters.end());
    return done;
  }

  std::size_t waiting() {
    std::lock_guard<std::mutex> guard{mtx};
    return waiters.size();
  }

  /// A clean shutdown: every waiter goes, nobody waits again.
  std::vector<waiter> close() {
    std::lock_guard<std::mutex> guard{mtx};
    closed = true;
    return std::exchange(waiters, {});
  }

  /// Records a change; true if the caller must wake the writer.
  bool put(const backup_key& key, std::optional<snapshot> what) {
    std::lock_guard<std::mutex> guard{mtx};
    changes[key] = std::move(what);
    if (wake_sent)
      return false;
    wake_sent = true;
    return true;
  }

  bool empty() {
    std::lock_guard<std::mutex> guard{mtx};
    return changes.empty();
  }

  /// Takes the open generation's changes; `gen` is set to its number.
  std::unordered_map<backup_key, std::optional<snapshot>>
  drain(std::uint64_t& gen) {
    std::lock_guard<std::mutex> guard{mtx};
    wake_sent = false;
    gen = open_gen++;
    return std::exchange(changes, {});
  }
};

void notify(std::vector<change_inbox::waiter> ws) {
  for (auto& w : ws)
    if (auto ch = caf::actor_cast<caf::actor>(w.who))
      caf::anon_send(ch, journal_durable_atom::value, w.seq);
}

struct journal_state {
  static inline const char* name = "chanstate.journal";
  std::shared_ptr<journal_store> store;
  std::shared_ptr<change_inbox> inbox;
  std::uint64_t drained_gen = 0; // the last generation taken from the inbox
  std::unordered_map<backup_key, snapshot> on_disk;
  // Latest wanted state per key since the last batch; nullopt = erase.
  std::unordered_map<backup_key, std::optional<snapshot>> staged;
  bool closed = false; // after a reset: a clean shutdown writes nothing more
  std::chrono::milliseconds retry{50};
  // Syncs waiting for the next successful batch, with their seq.
  std::vector<std::pair<caf::response_promise, std::uint64_t>> syncs;
  bool sync_now_sent = false;
  bool retry_scheduled = false;
  bool failing = false; // since the last failed write, until one succeeds
  std::uint64_t failed_in_burst = 0;
  std::uint64_t sync_requests = 0;
  std::uint64_t sync_batches = 0;
  std::uint64_t changes_seen = 0;
  std::uint64_t batches = 0;
  std::uint64_t records_written = 0;
  std::uint64_t write_errors = 0;
  std::shared_ptr<journal_stats> stats;
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

// Writes one batch and reports it to st.stats (figures, failed writes).
caf::error timed_apply(journal_state& st,
                       const std::vector<journal_store::key_change>& batch) {
  auto started = std::chrono::steady_clock::now();
  auto err = st.store->apply(batch);
  st.stats->record_batch(batch.size(),
                         std::chrono::steady_clock::now() - started,
                         err ? describe(err) : std::string{});
  return err;
}

// Moves what the observer collected into this batch.
void drain(journal_ptr self) {
  auto& st = self->state;
  auto changes = st.inbox->drain(st.drained_gen);
  if (st.closed)
    return;
  st.changes_seen += changes.size();
  for (auto& [key, what] : changes)
    st.staged[key] = std::move(what);
}

// Answers every waiting sync and waiter: everything they waited for is on
// disk (what was drained up to now is written).
void release_syncs(journal_ptr self) {
  auto& st = self->state;
  notify(st.inbox->written(st.drained_gen));
  if (st.syncs.empty())
    return;
  ++st.sync_batches;
  for (auto& [rp, seq] : st.syncs)
    rp.deliver(seq);
  st.syncs.clear();
}

// Writes what is staged in one transaction. On failure the staged changes
// stay (the next attempt writes them together with anything newer) and
// waiting syncs stay unanswered: frames are never released as if durable.
// Returns true if everything staged is on disk.
bool flush(journal_ptr self) {
  drain(self);
  auto& st = self->state;
  if (st.staged.empty())
    return true;
  std::vector<journal_store::key_change> batch;
  batch.reserve(st.staged.size());
  // What on_disk becomes once the batch is written; nullopt = erased.
  std::vector<std::pair<backup_key, std::optional<snapshot>>> disk_after;
  std::uint64_t records = 0;
  for (auto& [key, what] : st.staged) {
    journal_store::key_change change;
    change.key = key;
    auto disk = st.on_disk.find(key);
    if (!what) {
      if (disk == st.on_disk.end())
        continue;
      change.erase_all = true;
      disk_after.emplace_back(key, std::nullopt);
    } else {
      diff(disk == st.on_disk.end() ? snapshot{} : disk->second, *what,
           change.assigns);
      if (change.assigns.empty())
        continue;
      disk_after.emplace_back(key, *what);
    }
    records += change.assigns.size() + (change.erase_all ? 1 : 0);
    batch.push_back(std::move(change));
  }
  if (!batch.empty()) {
    ++st.batches;
    if (auto err = timed_apply(st, batch)) {
      // Nothing in memory is lost, but a process crash now would lose these
      // changes: keep them, hold every acknowledgement that waits for them,
      // say so once per burst, count every attempt, and retry.
      ++st.write_errors;
      ++st.failed_in_burst;
      if (!st.failing) {
        st.failing = true;
        if (!st.stats->has_listener())
          std::cerr << "chanstate journal: write failed: " << describe(err)
                    << "; retrying every " << st.retry.count()
                    << " ms, replies after a commit are held until it works\n";
      }
      if (!st.retry_scheduled) {
        st.retry_scheduled = true;
        self->delayed_send(self, st.retry, retry_atom::value);
      }
      return false;
    }
  }
  st.records_written += records;
  for (auto& [key, what] : disk_after) {
    if (what)
      st.on_disk[key] = std::move(*what);
    else
      st.on_disk.erase(key);
  }
  st.staged.clear();
  if (st.failing) {
    if (!st.stats->has_listener())
      std::cerr << "chanstate journal: writes work again after "
                << st.failed_in_burst << " failed attempts\n";
    st.failing = false;
    st.failed_in_burst = 0;
  }
  return true;
}

// Any successful batch releases every waiting sync: their changes were in
// the inbox before their request arrived, so this batch holds them.
void flush_and_release(journal_ptr self) {
  if (flush(self))
    release_syncs(self);
}

caf::behavior journal_impl(journal_ptr self,
                           std::shared_ptr<journal_store> store,
                           std::shared_ptr<change_inbox> inbox,
                           std::vector<std::pair<backup_key, snapshot>> disk,
                           std::chrono::milliseconds retry,
                           std::shared_ptr<journal_stats> stats) {
  auto& st = self->state;
  st.retry = retry;
  st.stats = std::move(stats);
  st.store = std::move(store);
  st.inbox = std::move(inbox);
  for (auto& [k, s] : disk)
    st.on_disk.emplace(std::move(k), std::move(s));
  return {
    [self](wake_atom) { flush_and_release(self); },
    [self](journal_sync_atom, std::uint64_t seq) -> caf::result<std::uint64_t> {
      auto& st = self->state;
      ++st.sync_requests;
      // Nothing staged and nothing new: an earlier batch, written after the
      // caller's changes arrived, already holds them (or a clean shutdown
      // dropped them on purpose).
      if (st.closed
          || (st.syncs.empty() && st.staged.empty() && st.inbox->empty()))
        return seq;
      st.syncs.emplace_back(self->make_response_promise(), seq);
      // Every sync already in the mailbox joins the batch sync_now writes.
      if (!st.sync_now_sent && !st.failing) {
        st.sync_now_sent = true;
        self->send(self, sync_now_atom::value);
      }
      return caf::delegated<std::uint64_t>{};
    },
    [self](sync_now_atom) {
      self->state.sync_now_sent = false;
      flush_and_release(self);
    },
    [self](retry_atom) {
      self->state.retry_scheduled = false;
      flush_and_release(self);
    },
    // Also a barrier for callers: everything they sent before is on disk
    // once the reply arrives (or the write failed and is being retried).
    [self](caf::flush_atom) -> caf::unit_t {
      flush_and_release(self);
      return caf::unit;
    },
    [self](caf::reset_atom) -> caf::result<caf::unit_t> {
      auto& st = self->state;
      st.closed = true;
      st.inbox->drain(st.drained_gen);
      st.staged.clear();
      st.on_disk.clear();
      // A clean shutdown drops every state: nothing is left to wait for.
      release_syncs(self);
      notify(st.inbox->close());
      if (auto err = st.store->clear())
        return err;
      return caf::unit;
    },
    [self](caf::get_atom) -> caf::result<std::vector<std::pair<backup_key, snapshot>>> {
      flush_and_release(self);
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
        {"sync_requests", st.sync_requests},
        {"sync_batches", st.sync_batches},
        {"syncs_waiting", st.syncs.size() + st.inbox->waiting()},
        {"failing", st.failing},
        {"refused_long_keys", st.store->refused_long_keys()},
        {"keys_on_disk", st.on_disk.size()},
      });
    },
  };
}

/// Collects the table's changes for the writer; safe from any thread.
class journal_observer : public table_observer {
public:
  journal_observer(std::shared_ptr<change_inbox> inbox, caf::actor writer,
                   std::shared_ptr<const journal_stats> stats)
    : inbox_(std::move(inbox)),
      writer_(std::move(writer)),
      stats_(std::move(stats)) {
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

  boost::json::value figures() const override {
    return stats_->to_json();
  }

private:
  void put(const backup_key& key, std::optional<snapshot> what) {
    if (inbox_->put(key, std::move(what)))
      caf::anon_send(writer_, wake_atom::value);
  }

  std::shared_ptr<change_inbox> inbox_;
  caf::actor writer_;
  std::shared_ptr<const journal_stats> stats_;
};

} // namespace

journal_handle
spawn_journal(caf::actor_system& sys, std::unique_ptr<journal_store> store,
              std::vector<std::pair<backup_key, snapshot>> on_disk,
              std::chrono::milliseconds retry) {
  auto inbox = std::make_shared<change_inbox>();
  auto stats = std::make_shared<journal_stats>();
  auto writer = sys.spawn<caf::detached>(
    journal_impl, std::shared_ptr<journal_store>{std::move(store)}, inbox,
    std::move(on_disk), retry, stats);
  return {writer, std::make_shared<journal_observer>(inbox, writer, stats),
          inbox, stats};
}

} // namespace chanstate
