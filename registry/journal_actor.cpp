// The journal writer: coalesce, diff against what is on disk, write a batch.
#include <chanstate/registry/journal_actor.hpp>

#include <mutex>
#include <utility>

#include <boost/json/serialize.hpp>
#include <caf/all.hpp>

#include <chanstate/registry/journal_core.hpp>

namespace chanstate {

namespace {

using namespace journal_detail;

using wake_atom = caf::atom_constant<caf::atom("cs_jwake")>;
// The end of a linger: writes the commits nobody waits for.
using linger_atom = caf::atom_constant<caf::atom("cs_jlinger")>;
// Writes a batch for the syncs waiting in the mailbox (group commit).
using sync_now_atom = caf::atom_constant<caf::atom("cs_jsnow")>;
using retry_atom = caf::atom_constant<caf::atom("cs_jretry")>;

struct journal_state {
  static inline const char* name = "chanstate.journal";
  std::shared_ptr<journal_core> core;
  // Syncs waiting for the next successful batch, with their seq.
  std::vector<std::pair<caf::response_promise, std::uint64_t>> syncs;
  bool sync_now_sent = false;
  bool retry_scheduled = false;
  bool lingering = false;
  std::uint64_t drains_seen = 0; // the inbox's drain count a linger began at
  std::uint64_t sync_requests = 0;
  std::uint64_t sync_batches = 0;
};

using journal_ptr = caf::stateful_actor<journal_state>*;

// Answers every waiting sync: everything they waited for is on disk.
void release_syncs(journal_ptr self) {
  auto& st = self->state;
  if (st.syncs.empty())
    return;
  ++st.sync_batches;
  for (auto& [rp, seq] : st.syncs)
    rp.deliver(seq);
  st.syncs.clear();
}

// The writer's batch: waits for a channel writing one, then writes what is
// left, again while channels noted waits meanwhile (they may have missed
// it). A failed write is retried every `retry`. Returns true if everything
// staged is on disk.
bool flush(journal_ptr self) {
  auto& core = *self->state.core;
  // What channels logged goes into LMDB first without the batch lock
  // (a checkpoint of ~200 records held it ~0.3 ms in `steady`, and every
  // channel whose frame waited meanwhile spun, then noted its wait).
  checkpoint_unlocked(core);
  for (int round = 0; round < 4; ++round) {
    std::unique_lock<std::mutex> guard{core.batch.mtx};
    if (!write_staged(core, true)) {
      guard.unlock();
      if (!self->state.retry_scheduled) {
        self->state.retry_scheduled = true;
        self->delayed_send(self, core.batch.retry, retry_atom::value);
      }
      return false;
    }
    auto done = core.inbox.written();
    guard.unlock();
    notify(std::move(done));
    if (core.inbox.waiting() == 0)
      return true;
  }
  // Waits keep coming: serve them after whatever else is in the mailbox.
  self->send(self, serve_atom::value);
  return true;
}

// Any successful batch releases every waiting sync: their changes were in
// the inbox before their request arrived, so this batch (or one a channel
// wrote before it) holds them.
void flush_and_release(journal_ptr self) {
  if (flush(self))
    release_syncs(self);
}

caf::behavior journal_impl(journal_ptr self,
                           std::shared_ptr<journal_core> core,
                           std::vector<std::pair<backup_key, snapshot>> disk) {
  auto& st = self->state;
  st.core = std::move(core);
  {
    std::lock_guard<std::mutex> guard{st.core->batch.mtx};
    for (auto& [k, s] : disk)
      st.core->batch.on_disk.emplace(std::move(k), std::move(s));
  }
  return {
    [self](wake_atom) {
      // With waiting channels writing their own batches, what wakes the
      // writer is a commit nobody waits for yet: collect for a while.
      auto& st = self->state;
      if (!st.core->waiters_write.load(std::memory_order_relaxed)) {
        flush_and_release(self);
      } else if (!st.lingering) {
        st.lingering = true;
        st.drains_seen = st.core->inbox.drains_now();
        self->delayed_send(self, st.core->linger, linger_atom::value);
      }
    },
    [self](linger_atom) {
      auto& st = self->state;
      auto& core = *st.core;
      auto end = core.inbox.after_linger(st.drains_seen);
      // The writer's transaction also takes what channels logged into LMDB,
      // so the change log starts over at least once per linger.
      if (end == change_inbox::linger_end::write
          || core.batch.logged.load(std::memory_order_relaxed)) {
        // A channel writing now (maybe preempted mid-batch) answers the
        // waits noted meanwhile from its worker: stay out of its way.
        if (!core.batch.mtx.try_lock()) {
          self->delayed_send(self, core.linger, linger_atom::value);
          return;
        }
        core.batch.mtx.unlock();
        flush_and_release(self);
      }
      if (end == change_inbox::linger_end::again)
        self->delayed_send(self, core.linger, linger_atom::value);
      else
        st.lingering = false;
    },
    [self](serve_atom) { flush_and_release(self); },
    [self](journal_sync_atom, std::uint64_t seq) -> caf::result<std::uint64_t> {
      auto& st = self->state;
      ++st.sync_requests;
      // Nothing staged and nothing new: an earlier batch, written after the
      // caller's changes arrived, already holds them (or a clean shutdown
      // dropped them on purpose).
      auto& core = *st.core;
      if (st.syncs.empty() && core.inbox.empty()) {
        std::lock_guard<std::mutex> guard{core.batch.mtx};
        if (core.batch.closed || core.batch.staged.empty())
          return seq;
      }
      st.syncs.emplace_back(self->make_response_promise(), seq);
      // Every sync already in the mailbox joins the batch sync_now writes.
      if (!st.sync_now_sent
          && !core.batch.failing.load(std::memory_order_relaxed)) {
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
      auto& core = *st.core;
      std::lock_guard<std::mutex> guard{core.batch.mtx};
      core.batch.closed = true;
      core.inbox.drain(true);
      core.batch.staged.clear();
      core.batch.on_disk.clear();
      // A clean shutdown drops every state: nothing is left to wait for.
      release_syncs(self);
      notify(core.inbox.close());
      if (auto err = core.batch.store->clear())
        return err;
      return caf::unit;
    },
    [self](caf::get_atom) -> caf::result<std::vector<std::pair<backup_key, snapshot>>> {
      flush_and_release(self);
      auto all = self->state.core->batch.store->load();
      if (!all)
        return std::move(all.error());
      return std::move(*all);
    },
    [self](journal_atom) {
      auto& st = self->state;
      auto& b = st.core->batch;
      std::lock_guard<std::mutex> guard{b.mtx};
      return boost::json::serialize(boost::json::object{
        {"changes_seen", b.changes_seen},
        {"batches", b.batches},
        {"batches_by_waiters", b.batches_by_waiters},
        {"waits_noted", st.core->inbox.noted()},
        {"records_written", b.records_written},
        {"log_batches", b.store->logged_batches()},
        {"checkpoints", b.store->checkpoints()},
        {"write_errors", b.stats->write_errors()},
        {"sync_requests", st.sync_requests},
        {"sync_batches", st.sync_batches},
        {"syncs_waiting", st.syncs.size() + st.core->inbox.waiting()},
        {"failing", b.failing.load(std::memory_order_relaxed)},
        {"refused_long_keys", b.store->refused_long_keys()},
        {"keys_on_disk", b.on_disk.size()},
      });
    },
  };
}

/// Collects the table's changes for the writer; safe from any thread.
class journal_observer : public table_observer {
public:
  journal_observer(std::shared_ptr<journal_core> core, caf::actor writer)
    : core_(std::move(core)), writer_(std::move(writer)) {
  }

  void committed(const backup_key& key, const snapshot& s) override {
    woke(core_->inbox.put(key, &s));
  }

  void stored(const backup_key& key, const snapshot& s) override {
    woke(core_->inbox.put(key, &s));
  }

  void dropped(const backup_key& key) override {
    woke(core_->inbox.put(key, nullptr));
  }

  boost::json::value figures() const override {
    return core_->batch.stats->to_json();
  }

private:
  void woke(bool first_since_drain) {
    if (first_since_drain)
      caf::anon_send(writer_, wake_atom::value);
  }

  std::shared_ptr<journal_core> core_;
  caf::actor writer_;
};

} // namespace

journal_handle
spawn_journal(caf::actor_system& sys, std::unique_ptr<journal_store> store,
              std::vector<std::pair<backup_key, snapshot>> on_disk,
              std::chrono::milliseconds retry,
              std::chrono::milliseconds linger) {
  auto core = std::make_shared<journal_core>();
  core->batch.store = std::move(store);
  core->batch.retry = retry;
  core->linger = linger;
  core->batch.stats = std::make_shared<journal_stats>();
  auto writer = sys.spawn<caf::detached>(journal_impl, core,
                                         std::move(on_disk));
  core->writer = writer;
  return {writer, std::make_shared<journal_observer>(core, writer), core,
          core->batch.stats};
}

} // namespace chanstate
