// LMDB behind journal_store: opening (format check, replay of the change
// log) and reading; the write path is in journal_store_write.cpp.
#include <chanstate/registry/journal_store.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <lmdb.h>

#include <chanstate/registry/journal_lmdb.hpp>
#include <chanstate/registry/journal_log.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

using namespace journal_lmdb;

namespace {

constexpr const char* format_key = "format";
constexpr const char* log_file = "changes.log";

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
