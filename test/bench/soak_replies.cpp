// What a soak client makes of the node's replies: joins, gets and leaves
// answered, channel errors, and every state checked against the model.
#include "test/bench/soak_driver.hpp"

#include <algorithm>
#include <random>
#include <string>

#include "test/bench/bench_util.hpp"

namespace chanstate::bench::soak_detail {

void soak_driver::on_reply(client& c, const std::string& jr,
                           const std::string& ref, const json::value& payload,
                           std::int64_t now) {
  std::string status;
  const json::object* response = nullptr;
  if (payload.is_object()) {
    if (auto st = payload.get_object().if_contains("status"))
      status = str(*st);
    if (auto r = payload.get_object().if_contains("response");
        r && r->is_object())
      response = &r->get_object();
  }
  if (c.at == client::joining && ref == c.jr)
    return on_join_reply(c, status, response, now);
  if (c.at == client::busy && ref == c.pending_ref && jr == c.jr) {
    if (c.op == client::op_get)
      return on_get_reply(c, status, response, now);
    if (c.op == client::op_leave) {
      // The old channel's phx_close follows with the old join ref and is
      // ignored; the join is held by the node until the leave is done.
      c.acked.clear();
      c.sent.clear();
      c.expect = soak_expect::fresh;
      pick_leave_at(c);
      send_join(c, now);
      return;
    }
  }
  if (jr == c.jr && status != "ok")
    error(c, "unexpected " + status + " reply: " + json::serialize(payload));
}

void soak_driver::on_join_reply(client& c, const std::string& status,
                                const json::object* response,
                                std::int64_t now) {
  if (status != "ok") {
    auto hint = response ? response->if_contains("retry_after_ms") : nullptr;
    c.at = client::join_wait;
    if (hint && (hint->is_int64() || hint->is_uint64())) {
      ++join_retries_;
      c.retry_at = now + hint->to_number<std::int64_t>() * ms;
      return;
    }
    ++join_refusals_;
    error(c, "join refused: "
               + (response ? json::serialize(*response) : std::string{}));
    if (++c.refusals > max_refusals) {
      fail(c);
      return;
    }
    c.retry_at = now + c.refusals * 1000 * ms;
    return;
  }
  c.refusals = 0;
  static const json::array none;
  const json::value* ns = response ? response->if_contains("ns") : nullptr;
  if (!ns || !ns->is_array())
    error(c, "join reply without ns");
  for (const char* k : {"quarantined", "note", "fallback_generation"})
    if (response && response->contains(k)) {
      ++guard_notes_;
      error(c, "a guard acted on the join: " + json::serialize(*response));
      break;
    }
  bool restored = response && response->contains("restored")
                  && response->at("restored").is_bool()
                  && response->at("restored").get_bool();
  if (c.expect == soak_expect::fresh && restored && c.joined_once) {
    ++restored_after_leave_;
    ++stale_;
    error(c, "restored after a clean leave");
  }
  judge(c, ns && ns->is_array() ? ns->get_array() : none, c.expect);
  if (!c.joined_once) {
    c.joined_once = true;
    ++joined_;
  }
  if (c.crashed_at) {
    recoveries_us_.push_back(now - c.crashed_at);
    c.crashed_at = 0;
  }
  c.expect = soak_expect::exact;
  if (c.next_op < now)
    c.next_op = now + std::uniform_int_distribution<std::int64_t>{
                        0, period_us_}(rng_);
  become_ready(c, now);
}

void soak_driver::on_get_reply(client& c, const std::string& status,
                               const json::object* response, std::int64_t now) {
  const json::value* ns = response ? response->if_contains("ns") : nullptr;
  if (status != "ok" || !ns || !ns->is_array()) {
    error(c, "bad get reply");
  } else {
    judge(c, ns->get_array(), soak_expect::exact);
  }
  become_ready(c, now);
}

void soak_driver::on_channel_error(client& c, std::int64_t now) {
  if (c.at == client::busy && c.op == client::op_crash) {
    c.expect = soak_expect::exact;
    send_join(c, now);
    return;
  }
  if (c.at == client::ready || c.at == client::busy)
    on_unexpected_end(c, "phx_error", now);
}

void soak_driver::on_unexpected_end(client& c, const std::string& what,
                                    std::int64_t now) {
  error(c, "unexpected " + what);
  c.expect = c.at == client::busy && c.op == client::op_leave
               ? soak_expect::unknown
               : soak_expect::prefix;
  if (c.at == client::busy && c.op == client::op_get && c.storm_get) {
    c.storm_get = false;
    c.check_due = true;
  }
  send_join(c, now);
}

void soak_driver::judge(client& c, const json::array& ns, soak_expect how) {
  std::vector<std::int64_t> own;
  auto v = soak_check(c.index, ns, c.acked, c.sent, how, own);
  ++checks_;
  if (how == soak_expect::unknown)
    ++unjudged_;
  lost_ += v.lost;
  stale_ += v.stale;
  leaked_ += v.leaked;
  mismatched_ += v.mismatched;
  if (!v.ok()) {
    std::string model;
    for (auto x : c.acked)
      model += std::to_string(x) + " ";
    model += "| ";
    for (auto x : c.sent)
      model += std::to_string(x) + " ";
    error(c, "state check failed (lost " + std::to_string(v.lost)
               + ", stale " + std::to_string(v.stale) + ", leaked "
               + std::to_string(v.leaked) + ", mismatched "
               + std::to_string(v.mismatched) + "): got "
               + json::serialize(ns) + ", model acked | sent: " + model);
  }
  c.acked = std::move(own);
  c.sent.clear();
}

void soak_driver::fail(client& c) {
  ++failed_;
  pool_.drop(c.index, false);
  if (storm_active_ && c.storm == storm_id_)
    --expected_;
  c.storm = 0;
  c.at = client::failed;
}

} // namespace chanstate::bench::soak_detail
