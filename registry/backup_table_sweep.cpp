// The backup table's sweep: expiry in age order, and cold backups packed in
// small slices (and unpacked by the restore that needs one).
#include <chanstate/registry/backup_table.hpp>

#include <iterator>

namespace chanstate {

// A backup's generations for a restore: the newest into `start`, the ones
// before it into `older`. A hot one hands its snapshots and its vector over
// as they are (no allocation); a cold one is unpacked (the only cost a
// packed backup adds, and only to its own restore).
bool backup_table::unpack(backup_entry& b, snapshot& start,
                          std::vector<snapshot>& older) {
  if (b.packed.empty()) {
    start = std::move(b.assigns);
    older = std::move(b.older);
    return true;
  }
  ++counters_.restores_from_packed;
  auto gens = b.packed.unpack();
  if (!gens)
    return false;
  start = std::move(gens->front());
  older.assign(std::make_move_iterator(gens->begin() + 1),
               std::make_move_iterator(gens->end()));
  return true;
}

bool backup_table::is_cold(const backup_entry& b, time_point now) const {
  // Every backup is stored with expires_at = its store time + backup_ttl.
  return b.expires_at - cfg_.backup_ttl + cfg_.pack_after <= now;
}

bool backup_table::has_cold(time_point now) const {
  if (cfg_.pack_after.count() <= 0)
    return false;
  auto* next = pack_cursor_ ? pack_cursor_->second.age_next : oldest_;
  return next && is_cold(next->second, now);
}

std::size_t backup_table::pack_cold(time_point now, std::size_t max) {
  if (cfg_.pack_after.count() <= 0)
    return 0;
  std::size_t n = 0;
  while (n < max) {
    auto* next = pack_cursor_ ? pack_cursor_->second.age_next : oldest_;
    if (!next)
      break;
    auto& b = next->second;
    // Age order: if this one is not cold yet, no later one is.
    if (!is_cold(b, now))
      break;
    pack_cursor_ = next;
    ++n;
    if (b.quarantined() || !b.packed.empty())
      continue;
    auto p = packed_backup::pack(b.assigns, b.older);
    // Keep whichever form is smaller (a tiny state can cost less as a
    // shared snapshot than as its own heap block).
    if (p.byte_size() >= b.bytes) {
      ++counters_.kept_hot;
      continue;
    }
    backup_bytes_ -= b.bytes;
    b.bytes = p.byte_size();
    backup_bytes_ += b.bytes;
    b.packed = std::move(p);
    b.assigns = snapshot{};
    b.older = std::vector<snapshot>{};
    ++packed_count_;
    ++counters_.packed;
  }
  return n;
}

std::size_t backup_table::expire(time_point now) {
  // Every backup gets the same TTL, so the oldest always expires first.
  std::size_t n = 0;
  while (oldest_) {
    auto i = backups_.find(oldest_->first);
    if (i->second.expires_at > now)
      break;
    drop_backup(i);
    ++counters_.expired;
    ++n;
  }
  return n;
}

std::optional<time_point> backup_table::next_expiry() const {
  if (!oldest_)
    return std::nullopt;
  return oldest_->second.expires_at;
}

} // namespace chanstate
