// The per-connection Phoenix socket: dispatch of client frames, bookkeeping
// of joined channels, and the frames Phoenix sends when a channel ends.
#include <chanstate/endpoint/phoenix_session.hpp>

#include <algorithm>

#include <caf/all.hpp>

#include <chanstate/actors/channel_error.hpp>
#include <chanstate/endpoint/log.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

namespace {

constexpr std::uint16_t close_bad_payload = 1007; // RFC 6455 §7.4.1
constexpr std::uint16_t close_policy = 1008;

// Frames held while a leave completes; the down comes within milliseconds,
// so a client that sends this many meanwhile is flooding.
constexpr std::size_t max_held_frames = 1000;

caf::error channel_reason(transport_end how) {
  switch (how) {
    case transport_end::clean:
      return caf::none;
    case transport_end::lost:
      return caf::make_error(channel_exit::transport_lost,
                             "the connection dropped without a close");
    case transport_end::shutdown:
      return caf::exit_reason::user_shutdown;
  }
  return caf::none;
}

} // namespace

phoenix_session::phoenix_session(caf::actor_system& sys,
                                 const channel_env& env, std::string client_id,
                                 caf::actor bridge, std::size_t max_channels,
                                 join_limiter& joins,
                                 transport_counters& counters, send_fn send,
                                 std::shared_ptr<const boost::json::object>
                                   claims)
  : sys_(sys),
    env_(env),
    client_id_(std::move(client_id)),
    bridge_(std::move(bridge)),
    max_channels_(max_channels),
    joins_(joins),
    counters_(counters),
    send_(std::move(send)),
    claims_(std::move(claims)) {
}

namespace {

// What an operator needs of a refused join: the topic and the reason (never
// the join's params, which may hold a token).
void log_join_refused(const std::string& topic,
                      const boost::json::object& why) {
  auto reason = why.if_contains("reason");
  log_limited(spdlog::level::warn, "join_refused", "join refused",
              {{"topic", topic},
               {"reason", reason ? *reason : boost::json::value{}}});
}

// A join reply that says a guard acted (fallback, quarantine, note) or that
// the join was refused; a plain restore or fresh start is not logged.
void log_join_reply(const outbound_frame& f) {
  const auto& p = f.payload.value;
  if (f.kind == frame_kind::join_error) {
    auto resp = p.if_contains("response");
    log_join_refused(f.topic, resp && resp->is_object() ? resp->get_object()
                                                        : p);
    return;
  }
  auto resp = p.if_contains("response");
  if (!resp || !resp->is_object())
    return;
  const auto& r = resp->get_object();
  if (!r.contains("fallback_generation") && !r.contains("quarantined")
      && !r.contains("note"))
    return;
  auto field = [&](const char* key) {
    auto v = r.if_contains(key);
    return v ? *v : boost::json::value{};
  };
  log_limited(spdlog::level::warn, "restore_guard",
              "a restore guard acted on a join",
              {{"topic", f.topic},
               {"restored", field("restored")},
               {"fallback_generation", field("fallback_generation")},
               {"quarantined", field("quarantined")},
               {"note", field("note")}});
}

// A join reply that says the channel starts from saved state.
bool restored(const outbound_frame& f) {
  if (f.kind != frame_kind::join_ok)
    return false;
  auto resp = f.payload.value.if_contains("response");
  auto obj = resp ? resp->if_object() : nullptr;
  auto flag = obj ? obj->if_contains("restored") : nullptr;
  return flag && flag->is_bool() && flag->get_bool();
}

} // namespace

phoenix_session::~phoenix_session() {
  // A connection torn down without a verdict was lost, not closed.
  end(transport_end::lost);
}

std::optional<protocol_close> phoenix_session::on_text(std::string_view text) {
  if (ended_)
    return std::nullopt;
  counters_.frames_in.fetch_add(1, std::memory_order_relaxed);
  auto d = decode_frame(text);
  if (is_fatal(d.error))
    return protocol_close{close_bad_payload, to_string(d.error)};
  auto& fr = d.frame;
  // Rule 1: heartbeats are answered whatever else is going on.
  if (fr.topic == "phoenix" && fr.event == "heartbeat") {
    reply({}, fr.ref, fr.topic, "ok", {});
    return std::nullopt;
  }
  if (waiting_for_) {
    if (held_.size() >= max_held_frames)
      return protocol_close{close_policy, "too many frames during a leave"};
    held_.push_back(std::move(d));
    return std::nullopt;
  }
  dispatch(d);
  return std::nullopt;
}

void phoenix_session::dispatch(decoded_frame& d) {
  auto& fr = d.frame;
  if (d.error == wire_error::payload_not_object)
    reply(fr.join_ref, fr.ref, fr.topic, "error",
          {{"reason", to_string(d.error)}});
  else if (fr.event == "phx_join")
    handle_join(fr);
  else if (fr.event == "phx_leave")
    handle_leave(fr);
  else
    handle_push(fr);
}

void phoenix_session::replay_held() {
  auto held = std::move(held_);
  held_.clear();
  auto i = held.begin();
  for (; i != held.end() && !waiting_for_; ++i)
    dispatch(*i);
  // A replayed join may start waiting again: keep the rest, in order.
  held_.insert(held_.end(), std::make_move_iterator(i),
               std::make_move_iterator(held.end()));
}

void phoenix_session::handle_join(inbound_frame& fr) {
  auto existing = by_topic(fr.topic);
  if (existing != channels_.end() && existing->leaving) {
    waiting_for_ = existing->handle.address();
    held_.push_back({wire_error::none, std::move(fr)});
    return;
  }
  bool replaces = existing != channels_.end();
  auto refuse = [&](boost::json::object why) {
    log_join_refused(fr.topic, why);
    reply(fr.join_ref, fr.ref, fr.topic, "error", std::move(why));
    after_join_reply(fr.topic, fr.join_ref);
  };
  // Phoenix answers an unmatched topic with a null join_ref.
  auto unmatched = [&] {
    reply({}, fr.ref, fr.topic, "error", {{"reason", "unmatched topic"}});
    after_join_reply(fr.topic, fr.join_ref);
  };
  // Rule 2, in Phoenix's order: route first, then the channel limit (a
  // duplicate join frees its own place first).
  if (!env_.routes || !env_.routes->match(fr.topic)) {
    unmatched();
    return;
  }
  if (channels_.size() - (replaces ? 1 : 0) >= max_channels_) {
    counters_.joins_over_channel_limit.fetch_add(1, std::memory_order_relaxed);
    refuse({{"reason", "too many channels joined"}});
    return;
  }
  // Only joins that would reach the registry use a token. Checked before
  // a duplicate join replaces anything: a refused join changes nothing.
  if (auto verdict = joins_.admit(client_id_); !verdict.allowed) {
    counters_.joins_rate_limited.fetch_add(1, std::memory_order_relaxed);
    refuse({{"reason", "too many joins"},
            {"retry_after_ms", verdict.retry_after.count()}});
    return;
  }
  // Rule 3: a duplicate join replaces the channel on this topic. Its state
  // goes to the new join (the registry takes the live key over); the old
  // join's phx_close follows the new join's reply.
  if (replaces) {
    replaced_.push_back({std::move(existing->handle), existing->link,
                         fr.join_ref});
    channels_.erase(existing);
  }
  auto ch = join_channel(sys_, env_,
                         join_request{fr.topic, client_id_, fr.join_ref,
                                      std::move(fr.payload), bridge_,
                                      claims_});
  if (!ch) {
    if (ch.error() == channel_error::unmatched_topic)
      unmatched();
    else
      refuse({{"reason", explain(ch.error())}});
    return;
  }
  channels_.push_back({*ch, channel_link{fr.topic, fr.join_ref}, fr.ref});
  caf::anon_send(bridge_, caf::monitor_atom::value, *ch);
}

void phoenix_session::handle_leave(const inbound_frame& fr) {
  auto i = by_topic(fr.topic);
  // Rule 5: phoenix.js leaves after every join timeout; not an error.
  if (i == channels_.end()) {
    reply(fr.join_ref, fr.ref, fr.topic, "ok", {});
    return;
  }
  // Rule 4: only the current join (or no join ref) may leave.
  if (i->leaving
      || (!fr.join_ref.empty() && fr.join_ref != i->link.join_ref)) {
    counters_.stale_frames_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  i->leaving = true;
  caf::anon_send(i->handle, caf::leave_atom::value, fr.ref);
}

void phoenix_session::handle_push(inbound_frame& fr) {
  auto i = by_topic(fr.topic);
  // Rule 7: also what a push racing a crash or a close gets.
  if (i == channels_.end()) {
    reply({}, fr.ref, fr.topic, "error", {{"reason", "unmatched topic"}});
    return;
  }
  // Rule 6: a frame from an older join of this topic is dropped silently.
  if (!fr.join_ref.empty() && fr.join_ref != i->link.join_ref) {
    counters_.stale_frames_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  caf::anon_send(i->handle, client_event{std::move(fr.ref),
                                         std::move(fr.event),
                                         {std::move(fr.payload)}});
}

void phoenix_session::on_channel_frame(const caf::actor_addr& from,
                                       outbound_frame f) {
  auto* e = ended_ ? nullptr : find(from);
  if (!e) {
    // The connection is gone, or the channel was replaced or refused.
    counters_.outbound_frames_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  e->link.observe(f);
  bool join_reply = f.kind == frame_kind::join_ok
                    || f.kind == frame_kind::join_error;
  if (join_reply) {
    f.ref = e->join_msg_ref; // Phoenix echoes the join's ref, not its JR
    log_join_reply(f);
    if (restored(f))
      counters_.restore_latency.observe(std::chrono::steady_clock::now()
                                        - e->join_started);
  }
  send_frame(f);
  if (!join_reply)
    return;
  auto topic = e->link.topic;
  auto jr = e->link.join_ref;
  // Rule 2: a refused join keeps no channel (the actor ends by itself).
  if (f.kind == frame_kind::join_error)
    channels_.erase(channels_.begin() + (e - channels_.data()));
  after_join_reply(topic, jr);
}

void phoenix_session::on_channel_down(const caf::actor_addr& channel,
                                      const caf::error& reason) {
  if (ended_)
    return;
  auto* e = find(channel);
  if (!e) {
    // A replaced channel: its phx_close is already scheduled.
    for (auto& r : replaced_)
      if (r.handle.address() == channel)
        r.handle = nullptr;
    return;
  }
  auto link = e->link;
  auto join_msg_ref = e->join_msg_ref;
  channels_.erase(channels_.begin() + (e - channels_.data()));
  auto f = frame_on_down(link, reason);
  if (f && (f->kind == frame_kind::error || f->kind == frame_kind::join_error))
    log_limited(spdlog::level::warn, "channel_crash", "channel crashed",
                {{"topic", link.topic}, {"exit_reason", explain(reason)}});
  if (f) {
    if (!link.replied)
      f->ref = join_msg_ref;
    send_frame(*f);
    if (!link.replied)
      after_join_reply(link.topic, link.join_ref);
  }
  if (waiting_for_ == channel) {
    waiting_for_ = caf::actor_addr{};
    replay_held();
  }
}

void phoenix_session::after_join_reply(const std::string& topic,
                                       const std::string& jr) {
  auto first = std::stable_partition(replaced_.begin(), replaced_.end(),
                                     [&](const replaced_channel& r) {
                                       return r.link.topic != topic
                                              || r.new_join_ref != jr;
                                     });
  for (auto i = first; i != replaced_.end(); ++i) {
    outbound_frame f;
    f.kind = frame_kind::close;
    f.join_ref = i->link.join_ref;
    f.ref = i->link.join_ref;
    f.topic = i->link.topic;
    f.event = "phx_close";
    send_frame(f);
    // The registry took the old channel's state over when the new one
    // restored; if that did not happen (a refused join), end it the same way.
    if (i->handle)
      caf::anon_send(i->handle, caf::close_atom::value,
                     caf::make_error(channel_exit::taken_over));
  }
  replaced_.erase(first, replaced_.end());
}

void phoenix_session::end(transport_end how) {
  if (ended_)
    return;
  ended_ = true;
  auto reason = channel_reason(how);
  for (auto& e : channels_)
    caf::anon_send(e.handle, caf::close_atom::value, reason);
  for (auto& r : replaced_)
    if (r.handle)
      caf::anon_send(r.handle, caf::close_atom::value, reason);
  channels_.clear();
  replaced_.clear();
  // A channel still restoring sees only the bridge's down: quitting with the
  // same verdict (normal for clean and shutdown) keeps the matrix intact.
  caf::anon_send(bridge_, caf::close_atom::value,
                 how == transport_end::lost ? reason : caf::error{});
}

void phoenix_session::send_frame(const outbound_frame& f) {
  counters_.frames_out.fetch_add(1, std::memory_order_relaxed);
  send_(encode_frame(f));
}

void phoenix_session::reply(const std::string& join_ref,
                            const std::string& ref, const std::string& topic,
                            const char* status, boost::json::object response) {
  if (std::string_view{status} != "ok")
    counters_.error_replies.fetch_add(1, std::memory_order_relaxed);
  send_frame(make_reply(frame_kind::reply, join_ref, ref, topic, status,
                        std::move(response)));
}

std::vector<phoenix_session::channel_entry>::iterator
phoenix_session::by_topic(const std::string& topic) {
  return std::find_if(channels_.begin(), channels_.end(),
                      [&](const channel_entry& e) {
                        return e.link.topic == topic;
                      });
}

phoenix_session::channel_entry*
phoenix_session::find(const caf::actor_addr& addr) {
  for (auto& e : channels_)
    if (e.handle.address() == addr)
      return &e;
  return nullptr;
}

} // namespace chanstate
