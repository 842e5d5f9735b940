// LMDB helpers of journal_store (journal_lmdb.hpp).
#include <chanstate/registry/journal_lmdb.hpp>

#include <cstring>

namespace chanstate::journal_lmdb {

namespace {

void put_len(std::string& out, std::size_t n) {
  out.push_back(static_cast<char>((n >> 8) & 0xFF));
  out.push_back(static_cast<char>(n & 0xFF));
}

} // namespace

caf::error lmdb_error(registry_error code, const std::string& what, int rc) {
  return caf::make_error(code, what + ": " + mdb_strerror(rc));
}

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

} // namespace chanstate::journal_lmdb
