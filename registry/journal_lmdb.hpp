// LMDB helpers shared by journal_store's files (opening and reading in
// journal_store.cpp, writing in journal_store_write.cpp): key encoding,
// errors, transactions. Private to the registry library, not installed.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include <caf/error.hpp>
#include <lmdb.h>

#include <chanstate/registry/backup_key.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate::journal_lmdb {

/// The meta table's key for the change log's last sequence number that
/// LMDB holds.
inline constexpr const char* log_seq_key = "log_seq";

/// `what` and LMDB's text for `rc`, as `code`.
caf::error lmdb_error(registry_error code, const std::string& what, int rc);

/// [len16 topic][topic][len16 client][client]: the prefix of all the key's
/// records. Lengths keep ("ab","c") and ("a","bc") apart; any bytes allowed.
std::string key_prefix(const backup_key& key);

/// A record's key split into its backup key and the assign's name; none if
/// the bytes are not one.
std::optional<std::pair<backup_key, std::string>>
decode_key(const char* p, std::size_t n);

/// `s` as LMDB's value type (LMDB does not write through it).
inline MDB_val as_val(const std::string& s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

/// Aborts a transaction unless it was committed.
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

/// Deletes every record whose key starts with `prefix`; 0 or LMDB's error.
int erase_prefix(MDB_txn* txn, MDB_dbi dbi, const std::string& prefix);

} // namespace chanstate::journal_lmdb
