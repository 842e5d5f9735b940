// The backup table's counters and sizes as one JSON object (/stats).
#include <chanstate/registry/backup_table.hpp>

namespace chanstate {

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
