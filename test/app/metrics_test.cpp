// metrics_document: the /stats document as Prometheus text.
#include <doctest/doctest.h>

#include <string>

#include <chanstate/endpoint/metrics.hpp>

using chanstate::metrics_document;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos
         || text.rfind(line + "\n", 0) == 0;
}

} // namespace

TEST_CASE("each /stats figure becomes the sample with its labels") {
  auto text = metrics_document(R"({
    "live_channels": 3, "backups": 2, "backup_bytes": 120,
    "restores": {"from_backup": 7, "from_takeover": 1, "fresh": 9,
                 "fallback": 2, "refused_poison": 4},
    "quarantine": {"fallbacks": 3, "quarantined": 4},
    "exits": {"kept_after_crash": 5, "kept_after_other": 6,
              "discarded_normal": 8},
    "transport": {"frames_in": 11, "frames_out": 12,
                  "closes": {"backpressure": 13}}})");
  CHECK(has_line(text, "chanstate_registry_up 1"));
  CHECK(has_line(text, "chanstate_live_channels 3"));
  CHECK(has_line(text, "chanstate_backup_bytes 120"));
  CHECK(has_line(text, R"(chanstate_joins_total{outcome="restored"} 7)"));
  CHECK(has_line(text, R"(chanstate_joins_total{outcome="quarantined"} 4)"));
  CHECK(has_line(text, "chanstate_joins_fallback_total 2"));
  CHECK(has_line(
    text, R"(chanstate_guard_actions_total{action="fallback"} 3)"));
  CHECK(has_line(
    text, R"(chanstate_channel_exits_total{backup="kept",exit="crash"} 5)"));
  CHECK(has_line(text, R"(chanstate_frames_total{direction="out"} 12)"));
  CHECK(has_line(
    text, R"(chanstate_connection_closes_total{cause="backpressure"} 13)"));
  CHECK(text.find("# TYPE chanstate_joins_total counter") != std::string::npos);
  CHECK(text.find("# TYPE chanstate_live_channels gauge") != std::string::npos);
}

TEST_CASE("a registry that did not answer leaves its figures out, says so") {
  auto text = metrics_document(
    R"({"registry_error": "registry: timeout",
        "transport": {"connections_open": 2}})");
  CHECK(has_line(text, "chanstate_registry_up 0"));
  CHECK(has_line(text, "chanstate_connections_open 2"));
  CHECK(text.find("chanstate_live_channels") == std::string::npos);
  CHECK(text.find("chanstate_joins_total") == std::string::npos);
}

TEST_CASE("a document that is not JSON still gives valid text") {
  auto text = metrics_document("not json");
  CHECK(has_line(text, "chanstate_registry_up 0"));
}

TEST_CASE("restore latency buckets become a cumulative Prometheus histogram") {
  auto text = metrics_document(R"({"transport": {"restore_latency":
    {"bounds_s": [0.1, 1], "counts": [2, 1, 0], "sum_s": 0.5}}})");
  CHECK(has_line(text,
                 R"(chanstate_restore_latency_seconds_bucket{le="0.1"} 2)"));
  CHECK(has_line(text,
                 R"(chanstate_restore_latency_seconds_bucket{le="1"} 3)"));
  CHECK(has_line(text,
                 R"(chanstate_restore_latency_seconds_bucket{le="+Inf"} 3)"));
  CHECK(has_line(text, "chanstate_restore_latency_seconds_count 3"));
  CHECK(has_line(text, "chanstate_restore_latency_seconds_sum 0.5"));
  // Counts that do not fit the bounds are left out, not misread.
  auto bad = metrics_document(R"({"transport": {"restore_latency":
    {"bounds_s": [0.1, 1], "counts": [2, 1], "sum_s": 0.5}}})");
  CHECK(bad.find("chanstate_restore_latency_seconds") == std::string::npos);
}
