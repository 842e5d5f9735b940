// journal_store's write path: the change log, LMDB batches, and the
// checkpoint that moves what the log holds into LMDB.
#include <chanstate/registry/journal_store.hpp>

#include <iterator>
#include <map>
#include <optional>
#include <utility>

#include <boost/json/serialize.hpp>
#include <lmdb.h>

#include <chanstate/registry/journal_lmdb.hpp>
#include <chanstate/registry/journal_log.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

using namespace journal_lmdb;

caf::error journal_store::apply(const std::vector<key_change>& batch) {
  return write(batch);
}

caf::error journal_store::log(std::vector<key_change> batch) {
  if (auto err = log_->append(batch))
    return err;
  ++logged_batches_;
  if (unapplied_.empty())
    unapplied_ = std::move(batch);
  else
    unapplied_.insert(unapplied_.end(), std::make_move_iterator(batch.begin()),
                      std::make_move_iterator(batch.end()));
  return caf::none;
}

caf::error journal_store::put_all(MDB_txn* txn,
                                  const std::vector<key_change>& changes) {
  std::string k;
  std::string text;
  auto max_key = static_cast<std::size_t>(mdb_env_get_maxkeysize(env_));
  int rc = 0;
  for (const auto& change : changes) {
    auto prefix = key_prefix(change.key);
    if (change.erase_all && (rc = erase_prefix(txn, assigns_dbi_, prefix)))
      return lmdb_error(registry_error::journal_unusable, "erase", rc);
    for (const auto& a : change.assigns) {
      k = prefix;
      k += a.name;
      if (k.size() > max_key) {
        ++refused_long_keys_;
        continue;
      }
      MDB_val kv = as_val(k);
      if (!a.value) {
        rc = mdb_del(txn, assigns_dbi_, &kv, nullptr);
        if (rc && rc != MDB_NOTFOUND)
          return lmdb_error(registry_error::journal_unusable, "del", rc);
        continue;
      }
      text = boost::json::serialize(*a.value);
      MDB_val vv = as_val(text);
      if ((rc = mdb_put(txn, assigns_dbi_, &kv, &vv, 0)))
        return lmdb_error(registry_error::journal_unusable, "put", rc);
    }
  }
  return caf::none;
}

caf::error journal_store::write(const std::vector<key_change>& batch) {
  txn_guard t;
  int rc = mdb_txn_begin(env_, nullptr, 0, &t.txn);
  if (rc)
    return lmdb_error(registry_error::journal_unusable, "mdb_txn_begin", rc);
  auto logged = !unapplied_.empty() || log_->used() != 0;
  if (unapplied_.empty()) {
    if (auto err = put_all(t.txn, batch))
      return err;
  } else if (auto err = put_all(t.txn, coalesce(unapplied_, batch))) {
    return err;
  }
  if (logged && (rc = put_log_seq(t.txn, log_->last())))
    return lmdb_error(registry_error::journal_unusable, "log position", rc);
  if ((rc = t.commit()))
    return lmdb_error(registry_error::journal_unusable, "commit", rc);
  if (logged) {
    ++checkpoints_;
    unapplied_.clear();
    taken_applied_ = false;
    log_->restart();
  }
  return caf::none;
}

journal_store::taken_log journal_store::take_unapplied() {
  taken_log t;
  t.batches = std::exchange(unapplied_, {});
  t.last_seq = log_->last();
  return t;
}

caf::error journal_store::apply_taken(const taken_log& t) {
  if (t.batches.empty())
    return caf::none;
  txn_guard g;
  int rc = mdb_txn_begin(env_, nullptr, 0, &g.txn);
  if (rc)
    return lmdb_error(registry_error::journal_unusable, "mdb_txn_begin", rc);
  if (auto err = put_all(g.txn, coalesce(t.batches, {})))
    return err;
  if ((rc = put_log_seq(g.txn, t.last_seq)))
    return lmdb_error(registry_error::journal_unusable, "log position", rc);
  if ((rc = g.commit()))
    return lmdb_error(registry_error::journal_unusable, "commit", rc);
  return caf::none;
}

void journal_store::taken_applied() {
  taken_applied_ = true;
}

void journal_store::untake(taken_log t) {
  if (unapplied_.empty()) {
    unapplied_ = std::move(t.batches);
    return;
  }
  t.batches.insert(t.batches.end(), std::make_move_iterator(unapplied_.begin()),
                   std::make_move_iterator(unapplied_.end()));
  unapplied_ = std::move(t.batches);
}

// What applying `first`, then `then`, in order leaves: one change per key,
// each assign's last value. A value that LMDB cannot hold (a full map)
// and that a later change replaced is never written, so it cannot keep
// failing every transaction after it.
std::vector<journal_store::key_change>
journal_store::coalesce(const std::vector<key_change>& first,
                        const std::vector<key_change>& then) {
  struct latest {
    bool erase_all = false;
    std::map<std::string, std::shared_ptr<const boost::json::value>> assigns;
  };
  std::map<std::pair<std::string, std::string>, latest> keys;
  for (const auto* changes : {&first, &then})
    for (const auto& c : *changes) {
      auto& k = keys[{c.key.topic, c.key.client_id}];
      if (c.erase_all) {
        k.erase_all = true;
        k.assigns.clear();
      }
      for (const auto& a : c.assigns)
        k.assigns[a.name] = a.value;
    }
  std::vector<key_change> out;
  out.reserve(keys.size());
  for (auto& [id, k] : keys) {
    key_change c;
    c.key = {id.first, id.second};
    c.erase_all = k.erase_all;
    for (auto& [name, value] : k.assigns)
      c.assigns.push_back({name, std::move(value)});
    out.push_back(std::move(c));
  }
  return out;
}

int journal_store::put_log_seq(MDB_txn* txn, std::uint64_t seq) {
  std::string k = log_seq_key;
  auto text = std::to_string(seq);
  MDB_val kv = as_val(k);
  MDB_val vv = as_val(text);
  return mdb_put(txn, meta_dbi_, &kv, &vv, 0);
}

} // namespace chanstate
