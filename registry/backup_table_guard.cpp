// The backup table's poison guard: which crash extends a key's streak, and
// what a state that keeps crashing its channel is set aside for.
#include <chanstate/registry/backup_table.hpp>

#include <algorithm>

namespace chanstate {

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

} // namespace chanstate
