// The endpoint's counters as JSON.
#include <chanstate/endpoint/transport_counters.hpp>

#include <chanstate/endpoint/readiness.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace chanstate {

const char* to_string(close_cause x) {
  switch (x) {
    case close_cause::client_close:
      return "client_close";
    case close_cause::client_heartbeat:
      return "client_heartbeat_timeout";
    case close_cause::idle_timeout:
      return "idle_timeout";
    case close_cause::connection_lost:
      return "connection_lost";
    case close_cause::too_big:
      return "too_big";
    case close_cause::binary_frame:
      return "binary_frame";
    case close_cause::bad_frame:
      return "bad_frame";
    case close_cause::backpressure:
      return "backpressure";
    case close_cause::shutdown:
      return "shutdown";
  }
  return "?";
}

void latency_histogram::observe(std::chrono::nanoseconds d) {
  double secs = std::chrono::duration<double>(d).count();
  std::size_t i = 0;
  while (i < std::size(bounds_s) && secs > bounds_s[i])
    ++i;
  counts[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns.fetch_add(static_cast<std::uint64_t>(d.count()),
                   std::memory_order_relaxed);
}

boost::json::object latency_histogram::to_json() const {
  boost::json::array bounds;
  for (auto b : bounds_s)
    bounds.push_back(b);
  boost::json::array cs;
  for (const auto& c : counts)
    cs.push_back(c.load(std::memory_order_relaxed));
  return {
    {"bounds_s", std::move(bounds)},
    {"counts", std::move(cs)},
    {"sum_s", static_cast<double>(sum_ns.load(std::memory_order_relaxed))
                / 1e9},
  };
}

boost::json::object transport_counters::to_json() const {
  auto load = [](const counter& c) {
    return c.load(std::memory_order_relaxed);
  };
  boost::json::object closes_obj;
  for (std::size_t i = 0; i < close_cause_count; ++i)
    closes_obj.emplace(to_string(static_cast<close_cause>(i)),
                       load(closes[i]));
  return {
    {"connections_open", load(connections_open)},
    {"connections_total", load(connections_total)},
    {"upgrades_refused", load(upgrades_refused)},
    {"connections_refused", load(connections_refused)},
    {"accept_errors", load(accept_errors)},
    {"tls_handshakes_failed", load(tls_handshakes_failed)},
    {"joins_rate_limited", load(joins_rate_limited)},
    {"joins_over_channel_limit", load(joins_over_channel_limit)},
    {"frames_in", load(frames_in)},
    {"frames_out", load(frames_out)},
    {"bytes_in", load(bytes_in)},
    {"bytes_out", load(bytes_out)},
    {"stale_frames_dropped", load(stale_frames_dropped)},
    {"outbound_frames_dropped", load(outbound_frames_dropped)},
    {"error_replies", load(error_replies)},
    {"backpressure_closes",
     load(closes[static_cast<std::size_t>(close_cause::backpressure)])},
    {"closes", std::move(closes_obj)},
    {"restore_latency", restore_latency.to_json()},
  };
}

std::string stats_document(std::string_view registry_json,
                           const transport_counters& counters,
                           const limit_counters* commits_refused,
                           const readiness* ready) {
  boost::json::error_code ec;
  auto reg = boost::json::parse(registry_json, ec);
  boost::json::object doc;
  if (!ec && reg.is_object())
    doc = std::move(reg.get_object());
  else
    doc.emplace("registry_error", std::string{registry_json});
  doc["transport"] = counters.to_json();
  boost::json::object auth;
  for (std::size_t i = 0; i < auth_failure_count; ++i)
    auth.emplace(to_string(static_cast<auth_failure>(i + 1)),
                 counters.auth_failures[i].load(std::memory_order_relaxed));
  doc["auth_failures"] = std::move(auth);
  if (commits_refused)
    doc["commits_refused"] = commits_refused->to_json();
  if (ready)
    if (auto link = ready->link_figures(); !link.is_null())
      doc["registry_link"] = std::move(link);
  return boost::json::serialize(doc);
}

} // namespace chanstate
