// LMDB behind journal_store: key encoding, format check, batches.
#include <chanstate/registry/journal_store.hpp>

#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <lmdb.h>

#include <chanstate/registry/journal_log.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

namespace {

constexpr const char* format_key = "format";
// The change log's last sequence number that LMDB holds.
constexpr const char* log_seq_key = "log_seq";
constexpr const char* log_file = "changes.log";

caf::error lmdb_error(registry_error code, const std::string& what, int rc) {
  return caf::make_error(code, what + ": " + mdb_strerror(rc));
}

void put_len(std::string& out, std::size_t n) {
  out.push_back(static_cast<char>((n >> 8) & 0xFF));
  out.push_back(static_cast<char>(n & 0xFF));
}

// [len16 topic][topic][len16 client][client]: the prefix of all the key's
// records. Lengths keep ("ab","c") and ("a","bc") apart; any bytes allowed.
std::string key_prefix(const backup_key& key) {
  std::string out;
  out.reserve(4 + key.topic.size() + key.client_id.size());
  put_len(out, key.topic.size());
  out += key.topic;
  put_len(out, key.client_id.size());
  out += key.client_id;
  return out;
}

std::optional<std::pair<backup_key, std::string>>
decode_key(const char* p, std::size_t n) {
  auto take = [&](std::string& out) {
    if (n < 2)
      return false;
    std::size_t len = (static_cast<unsigned char>(p[0]) << 8)
                      | static_cast<unsigned char>(p[1]);
    p += 2;
    n -= 2;
    if (n < len)
      return false;
    out.assign(p, len);
    p += len;
    n -= len;
    return true;
  };
  backup_key key;
  if (!take(key.topic) || !take(key.client_id))
    return std::nullopt;
  return std::make_pair(std::move(key), std::string{p, n});
}

MDB_val as_val(const std::string& s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

// Aborts a transaction unless it was committed.
struct txn_guard {
  MDB_txn* txn = nullptr;
  ~txn_guard() {
    if (txn)
      mdb_txn_abort(txn);
  }
  int commit() {
    auto rc = mdb_txn_commit(txn);
    txn = nullptr;
    return rc;
  }
};

int erase_prefix(MDB_txn* txn, MDB_dbi dbi, const std::string& prefix) {
  MDB_cursor* cur = nullptr;
  if (auto rc = mdb_cursor_open(txn, dbi, &cur))
    return rc;
  int rc = 0;
  for (;;) {
    MDB_val k = as_val(prefix);
    MDB_val v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc || k.mv_size < prefix.size()
        || std::memcmp(k.mv_data, prefix.data(), prefix.size()) != 0)
      break;
    if ((rc = mdb_cursor_del(cur, 0)))
      break;
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

} // namespace

caf::expected<std::unique_ptr<journal_store>>
journal_store::open(const std::string& dir, std::size_t map_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return caf::make_error(registry_error::journal_unusable,
                           "cannot create journal directory " + dir + ": "
                             + ec.message());
  std::unique_ptr<journal_store> js{new journal_store};
  js->dir_ = dir;
  int rc = mdb_env_create(&js->env_);
  if (rc)
    return lmdb_error(registry_error::journal_unusable, "mdb_env_create", rc);
  mdb_env_set_maxdbs(js->env_, 2);
  mdb_env_set_mapsize(js->env_, map_bytes);
  rc = mdb_env_open(js->env_, dir.c_str(),
                    MDB_NOSYNC | MDB_WRITEMAP | MDB_NOMETASYNC, 0644);
  if (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH)
    return lmdb_error(registry_error::journal_corrupt,
                      "journal " + dir + " is not a readable LMDB journal",
                      rc);
  if (rc)
    return lmdb_error(registry_error::journal_unusable,
                      "cannot open journal " + dir, rc);
  int dead = 0;
  mdb_reader_check(js->env_, &dead); // readers left by a killed process
  txn_guard t;
  if ((rc = mdb_txn_begin(js->env_, nullptr, 0, &t.txn)))
    return lmdb_error(registry_error::journal_unusable, "mdb_txn_begin", rc);
  MDB_dbi meta;
  if ((rc = mdb_dbi_open(t.txn, "meta", MDB_CREATE, &js->meta_dbi_))
      || (rc = mdb_dbi_open(t.txn, "assigns", MDB_CREATE, &js->assigns_dbi_)))
    return lmdb_error(registry_error::journal_corrupt,
                      "journal " + dir + " has no usable tables", rc);
  meta = js->meta_dbi_;
  std::string fk = format_key;
  MDB_val k = as_val(fk);
  MDB_val v;
  rc = mdb_get(t.txn, meta, &k, &v);
  auto stamp_format = [&] {
    auto text = std::to_string(format_version);
    MDB_val nv = as_val(text);
    return mdb_put(t.txn, meta, &k, &nv, 0);
  };
  if (rc == MDB_NOTFOUND) {
    if ((rc = stamp_format()))
      return lmdb_error(registry_error::journal_unusable, "write format", rc);
  } else if (rc) {
    return lmdb_error(registry_error::journal_corrupt, "read format", rc);
  } else {
    std::string text{static_cast<const char*>(v.mv_data), v.mv_size};
    int found = 0;
    try {
      found = std::stoi(text);
    } catch (...) {
      return caf::make_error(registry_error::journal_corrupt,
                             "journal " + dir + " has an unreadable format "
                             "marker '" + text + "'");
    }
    if (found > format_version)
      return caf::make_error(registry_error::journal_too_new,
                             "journal " + dir + " has format "
                               + std::to_string(found)
                               + ", newer than this build's "
                               + std::to_string(format_version)
                               + "; refusing to touch it");
    if (found < 1)
      return caf::make_error(registry_error::journal_corrupt,
                             "journal " + dir + " has format " + text);
    // An older format (1: no log; 2: a log of JSON text, which this build
    // replays): from now on a build that cannot read this build's log must
    // not open this journal.
    if (found < format_version && (rc = stamp_format()))
      return lmdb_error(registry_error::journal_unusable, "write format", rc);
  }
  if ((rc = t.commit()))
    return lmdb_error(registry_error::journal_unusable, "commit", rc);
  auto log = journal_log::open(
    (std::filesystem::path{dir} / log_file).string());
  if (!log)
    return std::move(log.error());
  js->log_ = std::move(*log);
  if (auto err = js->replay_log())
    return err;
  return js;
}

// What a process logged and did not apply before it died goes into LMDB
// now, so that load() sees it and the log starts over.
caf::error journal_store::replay_log() {
  txn_guard t;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &t.txn);
  if (rc)
    return lmdb_error(registry_error::journal_unusable, "mdb_txn_begin", rc);
  std::string lk = log_seq_key;
  MDB_val k = as_val(lk);
  MDB_val v;
  std::uint64_t applied = 0;
  rc = mdb_get(t.txn, meta_dbi_, &k, &v);
  if (rc == 0) {
    std::string text{static_cast<const char*>(v.mv_data), v.mv_size};
    try {
      applied = std::stoull(text);
    } catch (...) {
      return caf::make_error(registry_error::journal_corrupt,
                             "journal " + dir_ + " has an unreadable log "
                             "position '" + text + "'");
    }
  } else if (rc != MDB_NOTFOUND) {
    return lmdb_error(registry_error::journal_corrupt, "read log position",
                      rc);
  }
  mdb_txn_abort(t.txn);
  t.txn = nullptr;
  auto missed = log_->replay(applied);
  if (!missed)
    return std::move(missed.error());
  if (!missed->empty() || log_->used() != 0) {
    if (auto err = write(*missed))
      return err;
  }
  // Numbers go on after what LMDB holds, whatever the log file was.
  log_->restart(applied + 1);
  return caf::none;
}

journal_store::~journal_store() {
  if (env_) {
    mdb_env_sync(env_, 1);
    mdb_env_close(env_);
  }
}

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

caf::expected<std::vector<std::pair<backup_key, snapshot>>>
journal_store::load() const {
  txn_guard t;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &t.txn);
  if (rc)
    return lmdb_error(registry_error::journal_unusable, "mdb_txn_begin", rc);
  MDB_cursor* cur = nullptr;
  if ((rc = mdb_cursor_open(t.txn, assigns_dbi_, &cur)))
    return lmdb_error(registry_error::journal_unusable, "cursor", rc);
  // Records of one key are adjacent (they share the key's prefix).
  std::map<std::pair<std::string, std::string>, boost::json::object> states;
  MDB_val k;
  MDB_val v;
  caf::error err;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    auto decoded = decode_key(static_cast<const char*>(k.mv_data), k.mv_size);
    boost::json::error_code ec;
    auto value = boost::json::parse(
      std::string_view{static_cast<const char*>(v.mv_data), v.mv_size}, ec);
    if (!decoded || ec) {
      err = caf::make_error(registry_error::journal_corrupt,
                            "journal " + dir_ + " holds a record that does "
                            "not decode; refusing to load it");
      break;
    }
    auto& [key, name] = *decoded;
    states[{std::move(key.topic), std::move(key.client_id)}].emplace(
      name, std::move(value));
  }
  mdb_cursor_close(cur);
  if (err)
    return err;
  if (rc != MDB_NOTFOUND)
    return lmdb_error(registry_error::journal_corrupt, "cursor walk", rc);
  std::vector<std::pair<backup_key, snapshot>> out;
  out.reserve(states.size());
  for (auto& [k2, obj] : states)
    out.emplace_back(backup_key{k2.first, k2.second},
                     snapshot::from_object(obj));
  return out;
}

caf::error journal_store::clear() {
  txn_guard t;
  int rc = mdb_txn_begin(env_, nullptr, 0, &t.txn);
  if (rc)
    return lmdb_error(registry_error::journal_unusable, "mdb_txn_begin", rc);
  if ((rc = mdb_drop(t.txn, assigns_dbi_, 0)))
    return lmdb_error(registry_error::journal_unusable, "clear", rc);
  // What the log holds is dropped too: nothing is left to replay.
  if ((rc = put_log_seq(t.txn, log_->last())))
    return lmdb_error(registry_error::journal_unusable, "log position", rc);
  if ((rc = t.commit()))
    return lmdb_error(registry_error::journal_unusable, "commit", rc);
  unapplied_.clear();
  taken_applied_ = false;
  log_->restart();
  return sync();
}

caf::error journal_store::sync() {
  if (auto rc = mdb_env_sync(env_, 1))
    return lmdb_error(registry_error::journal_unusable, "sync", rc);
  return log_->sync();
}

} // namespace chanstate
