// Live channels, backups, and the bounds on them.
#include <chanstate/registry/backup_table.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

std::optional<caf::actor_addr>
backup_table::live_channel(const backup_key& key) const {
  if (auto i = live_.find(live_key{&key}); i != live_.end())
    return i->second.channel;
  return std::nullopt;
}

backup_table::streak backup_table::take_backup(const backup_key& key,
                                               time_point now,
                                               restore_outcome& out) {
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
  return guard;
}

restore_outcome backup_table::attach(const backup_key& key,
                                     caf::actor_addr channel, time_point now,
                                     bool sees_progress) {
  restore_outcome out;
  auto guard = take_backup(key, now, out);
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

backup_table::attach_attempt
backup_table::try_attach(const backup_key& key, caf::actor_addr channel,
                         time_point now, bool sees_progress) {
  // One lookup in live_ for both the question and the insertion: a storm
  // of rejoins asks it a million times (README, "A million channels").
  auto [slot, fresh] = live_.try_emplace(live_key{&key});
  if (!fresh)
    return {slot->second.channel, {}};
  attach_attempt out;
  try {
    auto guard = take_backup(key, now, out.outcome);
    slot->second = live_entry{std::move(channel), out.outcome.cell, guard,
                              out.outcome.restored, sees_progress};
    // The node pointed at the caller's key until now; from here on at the
    // cell's, an equal key (hash and place unchanged) that lives as long
    // as the entry.
    slot->first.key = &out.outcome.cell->key();
    by_channel_[slot->second.channel] = &*slot;
  } catch (...) {
    // Only an allocation can fail here: leave no half-made live entry.
    by_channel_.erase(slot->second.channel);
    live_.erase(slot);
    throw;
  }
  return out;
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
  // By key: one hash of it (erase(find(key)) would hash it twice).
  live_.erase(live_key{&key});
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
  // One lookup: a key's old backup is replaced in its node (accounted as
  // erase_backup would), a new key gets one.
  auto [i, fresh] = backups_.try_emplace(key);
  if (!fresh) {
    backup_bytes_ -= i->second.bytes;
    if (!i->second.packed.empty())
      --packed_count_;
    age_unlink(&*i);
  }
  i->second = std::move(entry);
  backup_bytes_ += i->second.bytes;
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

} // namespace chanstate
