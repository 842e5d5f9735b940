// The journal's shared core: who writes a batch, and who is told (the
// inbox itself is in journal_inbox.cpp).
#include <chanstate/registry/journal_core.hpp>

#include <chrono>
#include <iostream>
#include <thread>
#include <utility>

#include <caf/all.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate::journal_detail {

namespace {

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

// The records that take a key from what is on disk (`disk`, null:
// nothing) to `what` (nullopt: dropped), into `change`; false if there are
// none.
bool change_from_disk(const snapshot* disk, const std::optional<snapshot>& what,
                      journal_store::key_change& change) {
  if (!what) {
    change.erase_all = disk != nullptr;
    return change.erase_all;
  }
  static const snapshot nothing;
  diff(disk ? *disk : nothing, *what, change.assigns);
  return !change.assigns.empty();
}

std::uint64_t records_of(const journal_store::key_change& change) {
  return change.assigns.size() + (change.erase_all ? 1 : 0);
}

// Moves what the observer collected into this batch: everything, or only
// `key`'s change. Needs batch.mtx.
void stage(journal_core& core, bool by_writer, const backup_key* key) {
  auto& b = core.batch;
  if (key) {
    std::optional<snapshot> what;
    if (core.inbox.take(*key, what) && !b.closed) {
      ++b.changes_seen;
      b.staged[*key] = std::move(what);
    }
    return;
  }
  auto changes = core.inbox.drain(by_writer);
  if (b.closed)
    return;
  b.changes_seen += changes.size();
  for (auto& [k, what] : changes)
    b.staged[k] = std::move(what);
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// How long a waiting channel spins while another batch is written before
// it notes its wait. A batch takes a few µs; on two busy cores its writer
// is often preempted, and yielding lets it finish (measured in `steady`,
// 1000 channels: spinning without yielding still noted ~4% of the waits,
// for 1–10 ms each, and a noted wait goes to the back of the worker's work).
constexpr auto spin_limit = std::chrono::microseconds{50};

} // namespace

// ------------------------------------------------------------- batch ---

namespace {

// A batch could not be written. Nothing in memory is lost, but a process
// crash now would lose its changes: the caller keeps them staged, every
// acknowledgement that waits for them is held, it is said once per burst,
// every attempt is counted; the writer retries. Needs batch.mtx.
void write_failed(batch_state& b, const caf::error& err) {
  ++b.failed_in_burst;
  if (b.failing.load(std::memory_order_relaxed))
    return;
  b.failing.store(true, std::memory_order_relaxed);
  // The node's listener logs it (rate-limited, JSON if asked); a library
  // user without one still hears of it.
  if (!b.stats->has_listener())
    std::cerr << "chanstate journal: write failed: " << describe(err)
              << "; retrying every " << b.retry.count()
              << " ms, replies after a commit are held until it works\n";
}

// A batch was written: the log's state, and the end of a burst of failures.
// Needs batch.mtx.
void write_succeeded(batch_state& b) {
  b.logged.store(b.store->unapplied(), std::memory_order_relaxed);
  if (!b.failing.load(std::memory_order_relaxed))
    return;
  if (!b.stats->has_listener())
    std::cerr << "chanstate journal: writes work again after "
              << b.failed_in_burst << " failed attempts\n";
  b.failing.store(false, std::memory_order_relaxed);
  b.failed_in_burst = 0;
}

// Hands `batch` to the store, timed for /metrics: the writer's LMDB
// transaction, or a waiting channel's record in the change log. Needs
// batch.mtx.
caf::error store_batch(batch_state& b,
                       std::vector<journal_store::key_change> batch,
                       bool by_writer) {
  ++b.batches;
  if (!by_writer)
    ++b.batches_by_waiters;
  auto started = std::chrono::steady_clock::now();
  auto size = batch.size();
  auto err = by_writer ? b.store->apply(batch)
                       : b.store->log(std::move(batch));
  b.stats->record_batch(size, std::chrono::steady_clock::now() - started,
                        err ? describe(err) : std::string{}, !by_writer);
  return err;
}

// Writes what is staged in one transaction. Needs batch.mtx.
bool write_batch(journal_core& core, bool by_writer) {
  auto& b = core.batch;
  // The writer's transaction also takes what waiting channels logged.
  auto checkpoint = by_writer && b.store->unapplied();
  if (b.staged.empty() && !checkpoint)
    return true;
  std::vector<journal_store::key_change> batch;
  batch.reserve(b.staged.size());
  // What on_disk becomes once the batch is written; nullopt = erased.
  std::vector<std::pair<backup_key, std::optional<snapshot>>> disk_after;
  std::uint64_t records = 0;
  for (auto& [key, what] : b.staged) {
    journal_store::key_change change;
    auto disk = b.on_disk.find(key);
    if (!change_from_disk(disk == b.on_disk.end() ? nullptr : &disk->second,
                          what, change))
      continue;
    change.key = key;
    disk_after.emplace_back(key, what);
    records += records_of(change);
    batch.push_back(std::move(change));
  }
  // A waiting channel's batch becomes durable in the change log, a memory
  // copy; the writer's transaction takes it into LMDB later, with whatever
  // else was logged meanwhile, and the log starts over. (One LMDB
  // transaction per waiting frame cost ~3.8 µs of CPU each in `steady`.)
  if (!batch.empty() || checkpoint) {
    if (auto err = store_batch(b, std::move(batch), by_writer)) {
      write_failed(b, err);
      return false;
    }
  }
  b.records_written += records;
  for (auto& [key, what] : disk_after) {
    if (what)
      b.on_disk[key] = std::move(*what);
    else
      b.on_disk.erase(key);
  }
  b.staged.clear();
  write_succeeded(b);
  return true;
}

} // namespace

void checkpoint_unlocked(journal_core& core) {
  auto& b = core.batch;
  journal_store::taken_log taken;
  {
    std::lock_guard<std::mutex> guard{b.mtx};
    // A failing journal retries in write_staged, under the lock, as before.
    if (b.closed || b.failing.load(std::memory_order_relaxed)
        || !b.store->unapplied())
      return;
    taken = b.store->take_unapplied();
  }
  if (taken.batches.empty())
    return;
  auto started = std::chrono::steady_clock::now();
  auto err = b.store->apply_taken(taken);
  auto took = std::chrono::steady_clock::now() - started;
  {
    std::lock_guard<std::mutex> guard{b.mtx};
    if (err) {
      // The locked write that follows tries them again with what is newer,
      // and reports its failure if it fails too.
      b.store->untake(std::move(taken));
      return;
    }
    b.store->taken_applied();
    ++b.batches;
  }
  // `taken` is freed here, outside the lock too.
  b.stats->record_batch(taken.batches.size(), took, {}, false);
}

bool write_staged(journal_core& core, bool by_writer) {
  stage(core, by_writer, nullptr);
  return write_batch(core, by_writer);
}

namespace {

// write_key's usual case, nothing staged by a failed write: `key`'s change
// goes from the inbox into the change log and on_disk without the staging
// map (one hash lookup in each map, no batch-sized bookkeeping). On failure
// it is staged like any other, for the writer to retry. Needs batch.mtx.
bool write_one(journal_core& core, const backup_key& key) {
  auto& b = core.batch;
  std::optional<snapshot> what;
  if (!core.inbox.take(key, what))
    return true;
  ++b.changes_seen;
  auto disk = b.on_disk.find(key);
  std::vector<journal_store::key_change> batch(1);
  auto& change = batch.front();
  if (!change_from_disk(disk == b.on_disk.end() ? nullptr : &disk->second,
                        what, change))
    return true;
  change.key = key;
  auto records = records_of(change);
  if (auto err = store_batch(b, std::move(batch), false)) {
    write_failed(b, err);
    b.staged.emplace(key, std::move(what));
    return false;
  }
  b.records_written += records;
  if (!what)
    b.on_disk.erase(disk);
  else if (disk != b.on_disk.end())
    disk->second = std::move(*what);
  else
    b.on_disk.emplace(key, std::move(*what));
  write_succeeded(b);
  return true;
}

} // namespace

bool write_key(journal_core& core, const backup_key& key) {
  if (core.batch.staged.empty() && !core.batch.closed)
    return write_one(core, key);
  stage(core, false, &key);
  return write_batch(core, false);
}

// -------------------------------------------------------------- wait ---

// A channel's frame waits for its commit. Writing it right here keeps the
// frame in the activation that sent it: no message, no second activation,
// and the client's request-reply chain stays on its worker (measured in
// `steady`, 1000 channels: waiting for the writer's thread instead cost ~1
// µs per event, 0.57 of --ack=async's throughput, because every answer went
// to the back of the scheduler's queue). Only the caller's key is written:
// the whole inbox would also take other channels' changes that are
// halfway through a burst of events, and write those keys again after
// their own wait (+50% records in `steady`).
bool journal_core::await(const backup_key& key, const caf::actor& notify,
                         std::uint64_t seq) {
  if (!waiters_write.load(std::memory_order_relaxed))
    waiters_write.store(true, std::memory_order_relaxed);
  if (!batch.failing.load(std::memory_order_relaxed)) {
    // The clock is read only once the batch lock was busy: most waits
    // write at the first try (a key with nothing pending is settled there
    // too, under the batch lock).
    std::chrono::steady_clock::time_point deadline;
    for (int i = 0;; ++i) {
      auto r = write_own(key, notify);
      if (r == own_write::done)
        return true;
      if (r == own_write::failed)
        break;
      if (i == 0) {
        // Someone else writes: the key may be settled all the same.
        if (inbox.settled(key))
          return true;
        deadline = std::chrono::steady_clock::now() + spin_limit;
      } else if (batch.failing.load(std::memory_order_relaxed)
                 || std::chrono::steady_clock::now() > deadline) {
        break;
      }
      if (i < 8)
        cpu_relax();
      else
        std::this_thread::yield();
    }
  }
  if (inbox.park(key, notify, seq))
    return true;
  // Whoever wrote meanwhile may have looked for waits before this one was
  // noted: look again (of the two, one always sees the other).
  serve(4, notify);
  return false;
}

journal_core::own_write
journal_core::write_own(const backup_key& key, const caf::actor& caller) {
  std::size_t left = 0;
  auto r = write_as_channel(&key, caller, left);
  if (r == own_write::done && left != 0)
    serve(4, caller);
  return r;
}

void journal_core::serve(int rounds, const caf::actor& caller) {
  for (int i = 0; i < rounds; ++i) {
    std::size_t left = 0;
    if (write_as_channel(nullptr, caller, left) != own_write::done
        || left == 0)
      return;
  }
  // Waits keep coming: the writer takes the rest, this channel moves on.
  caf::anon_send(writer, serve_atom::value);
}

journal_core::own_write
journal_core::write_as_channel(const backup_key* key,
                               const caf::actor& caller, std::size_t& left) {
  std::unique_lock<std::mutex> guard{batch.mtx, std::try_to_lock};
  if (!guard.owns_lock())
    return own_write::busy;
  if (batch.failing.load(std::memory_order_relaxed))
    return own_write::failed;
  // Nobody else writes: nothing is in flight but what a failed write left
  // staged, which a failing journal would have shown.
  if (!(key ? write_key(*this, *key) : write_staged(*this, false))) {
    guard.unlock();
    caf::anon_send(writer, serve_atom::value); // it retries on its timer
    return own_write::failed;
  }
  auto done = inbox.written(&left);
  guard.unlock();
  if (!done.empty()) {
    // (An empty handle has no actor behind it: actor_cast would point
    // into nothing.)
    auto* self = caller ? dynamic_cast<caf::scheduled_actor*>(
                            caf::actor_cast<caf::abstract_actor*>(caller))
                        : nullptr;
    notify(std::move(done), self ? self->context() : nullptr);
  }
  return own_write::done;
}

} // namespace chanstate::journal_detail
