// Live channels, backups, and the bounds on them.
#include <chanstate/registry/backup_table.hpp>

#include <algorithm>
#include <iterator>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

std::optional<caf::actor_addr>
backup_table::live_channel(const backup_key& key) const {
  if (auto i = live_.find(live_key{&key}); i != live_.end())
    return i->second.channel;
  return std::nullopt;
}

restore_outcome backup_table::attach(const backup_key& key,
                                     caf::actor_addr channel, time_point now,
                                     bool sees_progress) {
  restore_outcome out;
  snapshot start;
  std::vector<snapshot> older;
  streak guard;
  if (auto i = backups_.find(key); i != backups_.end()) {
    auto& b = i->second;
    if (b.expires_at <= now) {
      ++counters_.expired;
      if (observer_)
        observer_->dropped(key);
    } else if (b.quarantined()) {
      out.reason = *b.quarantine_note;
      ++counters_.restores_refused_poison;
    } else if (!unpack(b, start, older)) {
      out.reason = "the saved state could not be unpacked";
      ++counters_.unpack_failures;
    } else {
      guard = b.guard;
      out.restored = true;
      out.fallback_generation = b.fallback;
      out.source = b.from_takeover ? "takeover" : "backup";
      // Every backup expires backup_ttl after it was stored, so that is
      // when its channel went down (or the journal's replay stored it).
      if (!b.from_takeover)
        backup_age_.observe(std::chrono::duration<double>(
                              now - (b.expires_at - cfg_.backup_ttl))
                              .count());
      ++(b.from_takeover ? counters_.restores_from_takeover
                         : counters_.restores_from_backup);
      if (b.fallback > 0)
        ++counters_.restores_fallback;
    }
    erase_backup(i);
  }
  if (!out.restored && out.reason.empty())
    ++counters_.restores_fresh;
  out.cell = make_cell(key, std::move(start), std::move(older));
  set_live(live_entry{std::move(channel), out.cell, guard, out.restored,
                      sees_progress});
  return out;
}

backup_table::live_map::value_type& backup_table::set_live(live_entry entry) {
  // Erased, not assigned over: the node's key points into the old cell.
  if (auto i = live_.find(live_key{&entry.cell->key()}); i != live_.end()) {
    by_channel_.erase(i->second.channel);
    live_.erase(i);
  }
  live_key k{&entry.cell->key()};
  auto& slot = *live_.emplace(k, std::move(entry)).first;
  by_channel_[slot.second.channel] = &slot;
  return slot;
}

commit_cell_ptr backup_table::make_cell(const backup_key& key, snapshot start,
                                        std::vector<snapshot> older) const {
  return std::make_shared<commit_cell>(std::move(start), std::move(older),
                                       cfg_.generations, key, observer_);
}

std::vector<caf::actor_addr> backup_table::live_channels() const {
  std::vector<caf::actor_addr> out;
  out.reserve(by_channel_.size());
  for (const auto& kv : by_channel_)
    out.push_back(kv.first);
  return out;
}

void backup_table::reattach(const backup_key& key, caf::actor_addr channel,
                            snapshot assigns) {
  if (auto i = backups_.find(key); i != backups_.end())
    erase_backup(i);
  // A reattached channel has been serving all along: its state is past
  // any suspicion, and its node cannot report progress anyway.
  ++counters_.reattached;
  auto cell = make_cell(key, assigns, {});
  if (observer_)
    observer_->committed(key, assigns);
  set_live(live_entry{std::move(channel), std::move(cell), streak{}, false,
                      false});
}

std::optional<backup_key> backup_table::detach(const caf::actor_addr& channel,
                                               const caf::error& reason,
                                               time_point now) {
  auto c = by_channel_.find(channel);
  if (c == by_channel_.end())
    return std::nullopt;
  auto* slot = c->second;
  by_channel_.erase(c);
  auto key = *slot->first.key;
  if (slot->second.channel != channel)
    return key; // a newer channel already owns the key
  auto entry = std::move(slot->second);
  live_.erase(live_.find(live_key{&key}));
  auto verdict = classify_exit(reason);
  if (verdict == exit_verdict::discard) {
    ++counters_.discarded_normal;
    if (observer_)
      observer_->dropped(key);
    return key;
  }
  backup_entry b;
  b.from_takeover = is_reason(reason, channel_exit::taken_over);
  // The cell's own vector becomes the older generations: no copy.
  auto gens = entry.cell->generations();
  b.assigns = std::move(gens.front());
  gens.erase(gens.begin());
  b.older = std::move(gens);
  ++(verdict == exit_verdict::keep_crash ? counters_.kept_after_crash
                                         : counters_.kept_after_other);
  judge_progress(entry, verdict, b);
  // Only a state set aside ever shows its exit reason (the quarantine
  // record and the join's reply), so only then is it rendered: every other
  // crash of a storm skips the formatting.
  if (cfg_.poison_crashes > 0 && b.guard.crashes >= cfg_.poison_crashes)
    set_aside(key, entry, describe(reason), b);
  if (b.quarantined()) {
    b.assigns = snapshot{};
    b.older.clear();
  }
  b.bytes = b.assigns.byte_size();
  for (const auto& g : b.older)
    b.bytes += g.byte_size();
  if (observer_) {
    if (b.quarantined())
      observer_->dropped(key);
    else
      observer_->stored(key, b.assigns);
  }
  b.expires_at = now + cfg_.backup_ttl;
  store_backup(key, std::move(b));
  return key;
}

// The poison guard's one rule (README, "Poison state"). Progress (a client
// event handler completed) clears the streak: the state has shown it can
// serve, so whatever it crashes on later is not the state's fault and the
// newest commit is kept. Without progress, a crash of the channel's own code
// (a throw, a stop with an error) of a channel that started from a saved
// state extends the streak; an end from outside (kill, lost transport or
// node, takeover) neither counts nor clears. A channel whose progress the
// registry cannot see (on another node) is never blamed.
void backup_table::judge_progress(const live_entry& entry,
                                  exit_verdict verdict, backup_entry& b) {
  if (!entry.sees_progress || entry.cell->progressed())
    return; // b.guard stays clear
  b.guard = entry.guard;
  // Whatever join or handle_info committed meanwhile rests on an unproven
  // state; a fallback skips it together with that state.
  // Saturating: any count past the few generations kept skips them all.
  auto unproven = std::uint64_t{b.guard.unproven} + entry.cell->commits();
  b.guard.unproven = static_cast<std::uint32_t>(
    std::min<std::uint64_t>(unproven, UINT32_MAX));
  if (entry.restored && verdict == exit_verdict::keep_crash) {
    ++b.guard.crashes;
    ++counters_.crashes_without_progress;
  }
}

// The streak reached poison_crashes: skip the state the streak restored and
// everything committed on top of it since the key's last progress; restore
// the generation before it, or nothing (quarantine) if none is left.
void backup_table::set_aside(const backup_key& key, const live_entry& entry,
                             std::string exit_reason, backup_entry& b) {
  std::size_t skip = std::size_t{b.guard.unproven} + 1;
  quarantine_record rec{key, exit_reason, entry.cell->last_event(),
                        b.guard.crashes, skip, false};
  std::vector<snapshot> gens;
  gens.push_back(b.assigns);
  gens.insert(gens.end(), b.older.begin(), b.older.end());
  if (skip < gens.size()) {
    ++counters_.poison_fallbacks;
    b.assigns = gens[skip];
    b.older.assign(gens.begin() + skip + 1, gens.end());
    b.fallback = static_cast<std::uint32_t>(skip);
  } else {
    ++counters_.poison_quarantined;
    rec.exhausted = true;
    auto where = rec.last_event.empty()
                   ? std::string{"before any client event reached it"}
                   : "last in event '" + rec.last_event + "'";
    b.quarantine_note = std::make_unique<std::string>(
      "quarantined: the restored state crashed its channel "
      + std::to_string(rec.crashes)
      + " times in a row before any client event completed (" + where
      + ") and no older generation is left; last exit: " + exit_reason);
  }
  // The older generation starts a new streak of its own.
  b.guard = streak{};
  quarantine_.push_back(std::move(rec));
  while (quarantine_.size() > cfg_.quarantine_keep)
    quarantine_.pop_front();
}

void backup_table::put_backup(const backup_key& key, snapshot assigns,
                              time_point now) {
  if (auto i = backups_.find(key); i != backups_.end())
    erase_backup(i);
  backup_entry b;
  b.bytes = assigns.byte_size();
  b.assigns = std::move(assigns);
  b.expires_at = now + cfg_.backup_ttl;
  ++counters_.imported;
  if (observer_)
    observer_->stored(key, b.assigns);
  store_backup(key, std::move(b));
}

std::optional<snapshot> backup_table::peek_backup(const backup_key& key) const {
  auto i = backups_.find(key);
  if (i == backups_.end() || i->second.quarantined())
    return std::nullopt;
  const auto& b = i->second;
  if (b.packed.empty())
    return b.assigns;
  // Unpacked for this look only: the backup stays packed.
  if (auto gens = b.packed.unpack())
    return std::move(gens->front());
  return std::nullopt;
}

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

commit_cell_ptr backup_table::live_cell(const backup_key& key) const {
  if (auto i = live_.find(live_key{&key}); i != live_.end())
    return i->second.cell;
  return nullptr;
}

std::optional<snapshot> backup_table::peek_live(const backup_key& key) const {
  if (auto i = live_.find(live_key{&key}); i != live_.end())
    return i->second.cell->load();
  return std::nullopt;
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

void backup_table::store_backup(const backup_key& key, backup_entry entry) {
  // A backup that alone exceeds the byte cap can never fit: evicting the
  // older ones first would destroy them and then this one too.
  if (entry.bytes > cfg_.max_backup_bytes) {
    ++counters_.evicted;
    counters_.evicted_bytes += entry.bytes;
    if (observer_)
      observer_->dropped(key);
    return;
  }
  if (auto old = backups_.find(key); old != backups_.end())
    erase_backup(old);
  backup_bytes_ += entry.bytes;
  auto i = backups_.emplace(key, std::move(entry)).first;
  age_push_back(&*i);
  enforce_caps();
}

void backup_table::age_push_back(backup_slot* s) noexcept {
  s->second.age_prev = newest_;
  s->second.age_next = nullptr;
  (newest_ ? newest_->second.age_next : oldest_) = s;
  newest_ = s;
}

void backup_table::age_unlink(backup_slot* s) noexcept {
  auto& e = s->second;
  // The cursor steps back to the one before (nullptr: none looked at).
  if (pack_cursor_ == s)
    pack_cursor_ = e.age_prev;
  (e.age_prev ? e.age_prev->second.age_next : oldest_) = e.age_next;
  (e.age_next ? e.age_next->second.age_prev : newest_) = e.age_prev;
  e.age_prev = e.age_next = nullptr;
}

void backup_table::erase_backup(backup_map::iterator i) {
  backup_bytes_ -= i->second.bytes;
  if (!i->second.packed.empty())
    --packed_count_;
  age_unlink(&*i);
  backups_.erase(i);
}

void backup_table::enforce_caps() {
  while (oldest_
         && (backups_.size() > cfg_.max_backups
             || backup_bytes_ > cfg_.max_backup_bytes)) {
    auto i = backups_.find(oldest_->first);
    ++counters_.evicted;
    counters_.evicted_bytes += i->second.bytes;
    drop_backup(i);
  }
}

void backup_table::drop_backup(backup_map::iterator i) {
  if (observer_)
    observer_->dropped(i->first);
  erase_backup(i);
}

boost::json::object backup_table::stats() const {
  const auto& c = counters_;
  boost::json::object restores{
    {"from_backup", c.restores_from_backup},
    {"from_takeover", c.restores_from_takeover},
    {"fresh", c.restores_fresh},
    {"fallback", c.restores_fallback},
    {"refused_poison", c.restores_refused_poison},
  };
  boost::json::object exits{
    {"kept_after_crash", c.kept_after_crash},
    {"kept_after_other", c.kept_after_other},
    {"discarded_normal", c.discarded_normal},
  };
  boost::json::array recent;
  for (const auto& q : quarantine_)
    recent.push_back(boost::json::object{
      {"key", to_string(q.key)},
      {"exit_reason", q.exit_reason},
      {"last_event", q.last_event},
      {"crashes", q.crashes},
      {"skipped_generations", q.skipped},
      {"exhausted", q.exhausted},
    });
  boost::json::object quarantine{
    {"count", c.poison_fallbacks + c.poison_quarantined},
    {"crashes_without_progress", c.crashes_without_progress},
    {"fallbacks", c.poison_fallbacks},
    {"quarantined", c.poison_quarantined},
    {"recent", std::move(recent)},
  };
  boost::json::object drops{
    {"expired", c.expired},
    {"evicted", c.evicted},
    {"evicted_bytes", c.evicted_bytes},
    {"quarantined", c.poison_quarantined},
  };
  boost::json::object limits{
    {"backup_ttl_ms", cfg_.backup_ttl.count()},
    {"max_backups", cfg_.max_backups},
    {"max_backup_bytes", cfg_.max_backup_bytes},
    {"down_wait_ms", cfg_.down_wait.count()},
    {"pack_after_ms", cfg_.pack_after.count()},
    {"generations", cfg_.generations},
    {"poison_crashes", cfg_.poison_crashes},
    {"quarantine_keep", cfg_.quarantine_keep},
  };
  boost::json::object out{
    {"live_channels", live_.size()},
    {"backups", backups_.size()},
    {"backup_bytes", backup_bytes_},
    {"imported", c.imported},
    {"down_wait_timeouts", c.down_wait_timeouts},
    {"superseded_joins", c.superseded_joins},
    {"rejected_commits", c.rejected_commits},
    {"commits_refused", limits_->to_json()},
    {"reattached", c.reattached},
    {"registry_restarts", c.registry_restarts},
    {"packed_backups", packed_count_},
    {"packing", boost::json::object{
                  {"packed", c.packed},
                  {"restores_from_packed", c.restores_from_packed},
                  {"kept_hot", c.kept_hot},
                  {"unpack_failures", c.unpack_failures},
                }},
    {"restores", std::move(restores)},
    {"exits", std::move(exits)},
    {"drops", std::move(drops)},
    {"quarantine", std::move(quarantine)},
    {"limits", std::move(limits)},
    {"backup_age_at_restore", backup_age_.to_json()},
  };
  if (observer_)
    if (auto j = observer_->figures(); !j.is_null())
      out["journal"] = std::move(j);
  return out;
}

std::vector<double> backup_table::backup_age_bounds() {
  // A phoenix.js rejoin after a crash comes within a second or two; a
  // reconnect after a network blip in seconds; the default TTL is 5 min.
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5,  5,
          10,   30,   60,  120,  300, 600, 1800, 3600};
}

} // namespace chanstate
