// GET /metrics: the /stats document in the Prometheus text format.
#pragma once

#include <string>
#include <string_view>

namespace chanstate {

/// The Content-Type of metrics_document's text (Prometheus text format
/// 0.0.4).
inline constexpr const char* metrics_content_type
  = "text/plain; version=0.0.4; charset=utf-8";

/// Renders a /stats document (see stats_document) as Prometheus metric
/// families, so that /stats and /metrics always show the same figures.
/// Figures missing from the document (a registry that did not answer) are
/// left out; chanstate_registry_up says whether the registry answered.
std::string metrics_document(std::string_view stats_json);

} // namespace chanstate
