// Builds the Prometheus families from the /stats document with
// prometheus-cpp's core registry and text serializer (no HTTP server of its
// own: the node's endpoint serves the text). A fresh registry per scrape:
// every figure is a snapshot of a counter the node keeps anyway, and a
// scrape every few seconds makes the cost of rebuilding it irrelevant.
#include <chanstate/endpoint/metrics.hpp>

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace chanstate {

namespace {

namespace json = boost::json;
using labels = std::map<std::string, std::string>;

/// The number at `path` in `doc`, if every step is there.
std::optional<double> number_at(const json::value& doc,
                                const std::vector<std::string_view>& path) {
  const json::value* v = &doc;
  for (auto key : path) {
    auto obj = v->if_object();
    if (!obj)
      return std::nullopt;
    auto i = obj->find(key);
    if (i == obj->end())
      return std::nullopt;
    v = &i->value();
  }
  if (auto u = v->if_uint64())
    return static_cast<double>(*u);
  if (auto s = v->if_int64())
    return static_cast<double>(*s);
  if (auto d = v->if_double())
    return *d;
  if (auto b = v->if_bool())
    return *b ? 1 : 0;
  return std::nullopt;
}

/// One sample of a family: its labels and where its value is in /stats.
struct sample {
  labels lbl;
  std::vector<std::string_view> path;
};

class builder {
public:
  explicit builder(const json::value& doc) : doc_(doc) {
  }

  /// A counter family; samples missing from the document are left out, and
  /// so is a family with no sample at all.
  void counter(const std::string& name, const std::string& help,
               std::initializer_list<sample> samples) {
    add<prometheus::Counter>(prometheus::BuildCounter(), name, help, samples);
  }

  void gauge(const std::string& name, const std::string& help,
             std::initializer_list<sample> samples) {
    add<prometheus::Gauge>(prometheus::BuildGauge(), name, help, samples);
  }

  /// A gauge whose value is computed here, not read from the document.
  void gauge_value(const std::string& name, const std::string& help,
                   double value) {
    prometheus::BuildGauge().Name(name).Help(help).Register(reg_).Add({}).Set(
      value);
  }

  /// A histogram from {"bounds_s": [...], "counts": [...], "sum_s": x}
  /// at `path` (per-bucket counts, the last one past every bound); a
  /// histogram of counts has "bounds" and "sum" instead.
  void histogram(const std::string& name, const std::string& help,
                 const std::vector<std::string_view>& path) {
    const json::value* v = &doc_;
    for (auto key : path) {
      auto obj = v->if_object();
      auto next = obj ? obj->if_contains(key) : nullptr;
      if (!next)
        return;
      v = next;
    }
    auto obj = v->if_object();
    bool secs = obj && obj->contains("bounds_s");
    auto bounds = obj ? obj->if_contains(secs ? "bounds_s" : "bounds")
                      : nullptr;
    auto counts = obj ? obj->if_contains("counts") : nullptr;
    auto sum = number_at(*v, {secs ? "sum_s" : "sum"});
    if (!bounds || !counts || !bounds->is_array() || !counts->is_array()
        || !sum || counts->get_array().size() != bounds->get_array().size() + 1)
      return;
    prometheus::Histogram::BucketBoundaries b;
    for (const auto& x : bounds->get_array())
      b.push_back(x.to_number<double>());
    std::vector<double> c;
    for (const auto& x : counts->get_array())
      c.push_back(x.to_number<double>());
    prometheus::BuildHistogram()
      .Name(name)
      .Help(help)
      .Register(reg_)
      .Add({}, b)
      .ObserveMultiple(c, *sum);
  }

  /// A counter family with one sample per member of the object at `path`,
  /// labelled `label`=<member name>. Only for objects whose members are a
  /// fixed set of names (an enum's), never client data.
  void counter_by_name(const std::string& name, const std::string& help,
                       std::string_view path, const std::string& label) {
    auto obj = doc_.is_object() ? doc_.get_object().if_contains(path)
                                : nullptr;
    if (!obj || !obj->is_object() || obj->get_object().empty())
      return;
    auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(
      reg_);
    for (const auto& member : obj->get_object())
      if (auto v = number_at(member.value(), {}))
        family.Add({{label, std::string{member.key()}}}).Increment(*v);
  }

  std::string text() const {
    return prometheus::TextSerializer{}.Serialize(reg_.Collect());
  }

private:
  static void put(prometheus::Counter& c, double v) {
    c.Increment(v);
  }

  static void put(prometheus::Gauge& g, double v) {
    g.Set(v);
  }

  template <class Metric, class Builder>
  void add(Builder&& b, const std::string& name, const std::string& help,
           std::initializer_list<sample> samples) {
    std::vector<std::pair<const sample*, double>> found;
    for (const auto& s : samples)
      if (auto v = number_at(doc_, s.path))
        found.emplace_back(&s, *v);
    if (found.empty())
      return;
    auto& family = b.Name(name).Help(help).Register(reg_);
    for (auto& [s, v] : found)
      put(family.Add(s->lbl), v);
  }

  const json::value& doc_;
  prometheus::Registry reg_;
};

} // namespace

std::string metrics_document(std::string_view stats_json) {
  json::error_code ec;
  auto doc = json::parse(stats_json, ec);
  bool registry_up = !ec && doc.is_object()
                     && !doc.get_object().contains("registry_error");
  if (ec)
    doc = json::object{};
  builder m{doc};
  m.gauge_value("chanstate_registry_up",
                "1 if the registry (local, or remote through the link) "
                "answered this scrape, else 0",
                registry_up ? 1 : 0);

  // A remote registry's link (only on a node with --registry).
  m.gauge("chanstate_registry_link_up",
          "1 while the link to the remote registry is up",
          {{{}, {"registry_link", "connected"}}});
  m.counter("chanstate_registry_link_changes_total",
            "Times the link to the remote registry went up or down",
            {{{{"to", "up"}}, {"registry_link", "ups"}},
             {{{"to", "down"}}, {"registry_link", "downs"}}});

  // The registry: sizes, joins, exits, drops.
  m.gauge("chanstate_live_channels", "Channels the registry tracks as live",
          {{{}, {"live_channels"}}});
  m.gauge("chanstate_backups", "Backups held for crashed channels",
          {{{}, {"backups"}}});
  m.gauge("chanstate_backup_bytes", "Bytes of assigns held in backups",
          {{{}, {"backup_bytes"}}});
  m.counter("chanstate_joins_total",
            "Joins the registry answered, by the state the channel started "
            "from",
            {{{{"outcome", "restored"}}, {"restores", "from_backup"}},
             {{{"outcome", "taken_over"}}, {"restores", "from_takeover"}},
             {{{"outcome", "fresh"}}, {"restores", "fresh"}},
             {{{"outcome", "quarantined"}}, {"restores", "refused_poison"}}});
  m.counter("chanstate_joins_fallback_total",
            "Restored joins that started from an older generation because "
            "newer ones crashed their channel",
            {{{}, {"restores", "fallback"}}});
  m.counter("chanstate_joins_refused_total",
            "Joins refused before they reached the registry, by limit",
            {{{{"reason", "rate_limit"}}, {"transport", "joins_rate_limited"}},
             {{{"reason", "channel_limit"}},
              {"transport", "joins_over_channel_limit"}}});
  m.counter("chanstate_channel_exits_total",
            "Channels that ended, by exit-matrix row",
            {{{{"exit", "crash"}, {"backup", "kept"}},
              {"exits", "kept_after_crash"}},
             {{{"exit", "other_abnormal"}, {"backup", "kept"}},
              {"exits", "kept_after_other"}},
             {{{"exit", "normal"}, {"backup", "discarded"}},
              {"exits", "discarded_normal"}}});
  m.counter("chanstate_backups_dropped_total",
            "Backups dropped before a join restored them, by cause",
            {{{{"cause", "expired"}}, {"drops", "expired"}},
             {{{"cause", "evicted"}}, {"drops", "evicted"}},
             {{{"cause", "quarantined"}}, {"drops", "quarantined"}}});
  m.counter("chanstate_backups_evicted_bytes_total",
            "Bytes of backups evicted by the size or count cap",
            {{{}, {"drops", "evicted_bytes"}}});
  m.counter("chanstate_crashes_without_progress_total",
            "Crashes of a restored channel before any client event completed",
            {{{}, {"quarantine", "crashes_without_progress"}}});
  m.counter("chanstate_guard_actions_total",
            "Times the poison guard set a restored state aside, by action",
            {{{{"action", "fallback"}}, {"quarantine", "fallbacks"}},
             {{{"action", "quarantine"}}, {"quarantine", "quarantined"}}});
  m.counter("chanstate_backups_imported_total",
            "Backups loaded from the journal or imported",
            {{{}, {"imported"}}});
  m.counter("chanstate_down_wait_timeouts_total",
            "Rejoins that took a live channel's last commit over because its "
            "down message did not come in time",
            {{{}, {"down_wait_timeouts"}}});
  m.counter("chanstate_superseded_joins_total",
            "Joins that a newer join for the same key replaced while waiting",
            {{{}, {"superseded_joins"}}});
  m.counter("chanstate_commits_rejected_total",
            "Commits from channels the registry no longer tracks",
            {{{}, {"rejected_commits"}}});
  m.counter("chanstate_commits_refused_total",
            "Commits this node's channels refused, by limit",
            {{{{"reason", "assigns_too_large"}},
              {"commits_refused", "assigns_too_large"}}});
  m.counter("chanstate_channels_reattached_total",
            "Live channels that reattached with their state after the "
            "registry came back",
            {{{}, {"reattached"}}});
  m.counter("chanstate_registry_restarts_total",
            "Times a new registry actor took the backup table over",
            {{{}, {"registry_restarts"}}});
  m.gauge("chanstate_backups_packed", "Backups held in the packed (cold) form",
          {{{}, {"packed_backups"}}});
  m.counter("chanstate_backups_packed_total",
            "Backups the sweep packed into the compact form",
            {{{}, {"packing", "packed"}}});
  m.counter("chanstate_restores_from_packed_total",
            "Restores that unpacked a packed backup",
            {{{}, {"packing", "restores_from_packed"}}});
  m.counter("chanstate_backups_kept_hot_total",
            "Backups the sweep left unpacked because packing would not "
            "make them smaller",
            {{{}, {"packing", "kept_hot"}}});
  m.counter("chanstate_unpack_failures_total",
            "Packed backups that could not be unpacked",
            {{{}, {"packing", "unpack_failures"}}});
  m.gauge("chanstate_backups_limit", "Most backups held (0 = no cap)",
          {{{}, {"limits", "max_backups"}}});
  m.gauge("chanstate_backup_bytes_limit",
          "Most bytes held in backups (0 = no cap)",
          {{{}, {"limits", "max_backup_bytes"}}});

  // The WebSocket endpoint.
  m.gauge("chanstate_connections_open", "WebSocket connections open now",
          {{{}, {"transport", "connections_open"}}});
  m.counter("chanstate_connections_total", "WebSocket connections accepted",
            {{{}, {"transport", "connections_total"}}});
  m.counter("chanstate_connections_refused_total",
            "Connections refused, by reason",
            {{{{"reason", "bad_upgrade"}}, {"transport", "upgrades_refused"}},
             {{{"reason", "connection_limit"}},
              {"transport", "connections_refused"}},
             {{{"reason", "accept_error"}}, {"transport", "accept_errors"}},
             {{{"reason", "tls_handshake"}},
              {"transport", "tls_handshakes_failed"}}});
  m.counter_by_name("chanstate_auth_failures_total",
                    "WebSocket upgrades refused for their identity token, by "
                    "reason (with --token-secret-file)",
                    "auth_failures", "reason");
  m.counter("chanstate_connection_closes_total",
            "Connections that ended, by cause",
            {{{{"cause", "client_close"}},
              {"transport", "closes", "client_close"}},
             {{{"cause", "client_heartbeat_timeout"}},
              {"transport", "closes", "client_heartbeat_timeout"}},
             {{{"cause", "idle_timeout"}},
              {"transport", "closes", "idle_timeout"}},
             {{{"cause", "connection_lost"}},
              {"transport", "closes", "connection_lost"}},
             {{{"cause", "too_big"}}, {"transport", "closes", "too_big"}},
             {{{"cause", "binary_frame"}},
              {"transport", "closes", "binary_frame"}},
             {{{"cause", "bad_frame"}}, {"transport", "closes", "bad_frame"}},
             {{{"cause", "backpressure"}},
              {"transport", "closes", "backpressure"}},
             {{{"cause", "shutdown"}}, {"transport", "closes", "shutdown"}}});
  m.counter("chanstate_frames_total", "WebSocket frames, by direction",
            {{{{"direction", "in"}}, {"transport", "frames_in"}},
             {{{"direction", "out"}}, {"transport", "frames_out"}}});
  m.counter("chanstate_transferred_bytes_total",
            "WebSocket payload bytes, by direction",
            {{{{"direction", "in"}}, {"transport", "bytes_in"}},
             {{{"direction", "out"}}, {"transport", "bytes_out"}}});
  m.counter("chanstate_frames_dropped_total", "Frames dropped, by cause",
            {{{{"cause", "stale_join_ref"}},
              {"transport", "stale_frames_dropped"}},
             {{{"cause", "connection_gone"}},
              {"transport", "outbound_frames_dropped"}}});
  m.histogram("chanstate_restore_latency_seconds",
              "Join frame to join reply of joins that restored a saved state",
              {"transport", "restore_latency"});
  m.histogram("chanstate_backup_age_at_restore_seconds",
              "Age of a backup when a join restored it: from its channel's "
              "crash (or the journal's replay at start) to the restore",
              {"backup_age_at_restore"});

  // The journal (only with one).
  m.counter("chanstate_journal_write_errors_total",
            "Journal transactions that failed (retried until one works)",
            {{{}, {"journal", "write_errors"}}});
  m.counter("chanstate_journal_log_batches_total",
            "Journal batches that waiting channels made durable in the "
            "change log (the rest are LMDB transactions)",
            {{{}, {"journal", "log_batches"}}});
  m.gauge("chanstate_journal_failing",
          "1 while journal writes fail (replies after a commit are held)",
          {{{}, {"journal", "failing"}}});
  m.histogram("chanstate_journal_batch_write_seconds",
              "Seconds one journal batch took to write (a change-log "
              "record or an LMDB transaction)",
              {"journal", "batch_write_seconds"});
  m.histogram("chanstate_journal_batch_size",
              "Keys one journal batch wrote (the commits of a key "
              "between two batches count once)",
              {"journal", "batch_keys"});

  m.counter("chanstate_error_replies_total",
            "Error replies sent to clients (unmatched topic, bad payload, "
            "unknown event, refused join, ...)",
            {{{}, {"transport", "error_replies"}}});
  return m.text();
}

} // namespace chanstate
