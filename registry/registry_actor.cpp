// The registry actor: the exit matrix applied to down messages.
#include <chanstate/registry/registry_actor.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <unordered_map>
#include <variant>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <caf/all.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

namespace {

// A join's deadline: none (the channel keeps its own request timeout, as a
// remote one does) or a point on the actor clock.
constexpr time_point no_deadline = time_point::max();

struct pending_restore {
  // Delivers to a local (restore_outcome) or remote (remote_restore) promise.
  std::function<void(caf::expected<restore_outcome>)> deliver;
  caf::actor channel;
  std::uint64_t token = 0;
  bool sees_progress = true;
  time_point deadline = no_deadline;
};

struct registry_state {
  static inline const char* name = "chanstate.registry";
  std::shared_ptr<backup_table> table;
  // At most one waiting join per key: the newest join wins, as in Phoenix.
  std::unordered_map<backup_key, pending_restore> waiting;
  std::uint64_t next_token = 0;
  bool sweep_scheduled = false;

  // Runs when the registry ends, whatever the reason (crash, kill,
  // shutdown). A CAF 0.17 promise that is dropped answers nothing, so the
  // joins still waiting for a takeover would wait out their restore
  // timeout; they hear it now, as restores still in the mailbox do (CAF
  // bounces those with the same error), and their clients rejoin.
  ~registry_state() {
    for (auto& kv : waiting)
      kv.second.deliver(caf::make_error(caf::sec::request_receiver_down,
                                        "the registry ended while the join "
                                        "waited"));
  }
};

using registry_ptr = registry_actor::stateful_pointer<registry_state>;

bool valid(const backup_key& key) {
  return !key.topic.empty() && !key.client_id.empty();
}

void schedule_sweep(registry_ptr self) {
  auto& st = self->state;
  if (st.sweep_scheduled || st.table->backup_count() == 0)
    return;
  st.sweep_scheduled = true;
  self->delayed_send(self, st.table->config().sweep_interval,
                     sweep_atom::value);
}

// Packs cold backups for at most ~1 ms (checked every 64); true if cold
// ones are left for the next slice.
bool pack_slice(registry_ptr self) {
  auto& table = *self->state.table;
  auto now = self->clock().now();
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds{1};
  while (table.pack_cold(now, 64) == 64)
    if (std::chrono::steady_clock::now() >= deadline)
      return table.has_cold(now);
  return false;
}

// `sees_progress`: the channel shares our commit cell and marks progress in
// it. A channel on another node commits by message and reports no progress,
// so the poison guard never blames its state. Attaches `channel` unless the
// key is live; then returns that live channel's address instead.
std::variant<restore_outcome, caf::actor_addr>
try_attach(registry_ptr self, const backup_key& key, const caf::actor& channel,
           bool sees_progress) {
  auto got = self->state.table->try_attach(key, channel.address(),
                                           self->clock().now(), sees_progress);
  if (got.live)
    return std::move(*got.live);
  self->monitor(channel);
  schedule_sweep(self);
  return std::move(got.outcome);
}

// Hands the key to the join that waited for it, once the key is free.
void serve_waiting(registry_ptr self, const backup_key& key) {
  auto& st = self->state;
  // A storm's downs find no join waiting: skip hashing the key again.
  if (st.waiting.empty())
    return;
  auto i = st.waiting.find(key);
  if (i == st.waiting.end())
    return;
  auto got = try_attach(self, key, i->second.channel, i->second.sees_progress);
  if (auto* out = std::get_if<restore_outcome>(&got)) {
    auto p = std::move(i->second);
    st.waiting.erase(i);
    p.deliver(std::move(*out));
  }
}

// The refusal of a join whose channel waited its whole restore timeout: the
// error a request timeout would have given it.
caf::error too_late() {
  return caf::make_error(caf::sec::request_timeout,
                         "the join waited longer than its restore timeout");
}

remote_restore to_remote(const restore_outcome& out) {
  return {out.restored, out.source, out.reason, to_json_text(out.cell->load()),
          out.fallback_generation};
}

// The answer to a join that needs no waiting: an error, or `channel`
// attached. Returns the key's live channel instead when the join has to
// wait for it to go down (wait_for_takeover).
std::variant<caf::expected<restore_outcome>, caf::actor_addr>
restore_now(registry_ptr self, const backup_key& key,
            const caf::actor& channel, bool sees_progress,
            time_point deadline) {
  using answer = caf::expected<restore_outcome>;
  if (self->clock().now() >= deadline) {
    // Queued behind a storm for longer than the channel waits: answering
    // late is all a timer would have done too (it would have refused the
    // join at the deadline, and the registry still handled the request).
    return answer{too_late()};
  }
  if (!valid(key))
    return answer{caf::make_error(registry_error::invalid_key,
                                  "topic and client id must not be empty")};
  if (!channel)
    return answer{
      caf::make_error(registry_error::invalid_key, "no channel to track")};
  auto got = try_attach(self, key, channel, sees_progress);
  if (auto* out = std::get_if<restore_outcome>(&got))
    return answer{std::move(*out)};
  return std::get<caf::actor_addr>(std::move(got));
}

// The key is still live (`old`): either the old channel crashed and its
// down message is on its way, or it is alive (a reconnecting client). In
// both cases ask it to end and answer once it is down, so a rejoin never
// sees "no backup" while the last commit is still in flight. `deliver` is
// called exactly once, later.
void wait_for_takeover(registry_ptr self, const backup_key& key,
                       const caf::actor& channel, bool sees_progress,
                       time_point deadline, const caf::actor_addr& old,
                       std::function<void(caf::expected<restore_outcome>)>
                         deliver) {
  auto& st = self->state;
  if (auto i = st.waiting.find(key); i != st.waiting.end()) {
    i->second.deliver(caf::make_error(registry_error::superseded,
                                      "a newer join took this key"));
    ++st.table->counters().superseded_joins;
    st.waiting.erase(i);
  }
  auto token = ++st.next_token;
  st.waiting.emplace(key, pending_restore{std::move(deliver), channel, token,
                                          sees_progress, deadline});
  self->send_exit(old, caf::make_error(channel_exit::taken_over));
  // Waits for the old channel's down at most down_wait, and no longer than
  // the join itself waits.
  auto wait = std::chrono::duration_cast<caf::timespan>(
    st.table->config().down_wait);
  if (deadline != no_deadline)
    wait = std::min(wait, std::chrono::duration_cast<caf::timespan>(
                            deadline - self->clock().now()));
  self->delayed_send(self, wait, wait_over_atom::value, key, token);
}

// Answers a join as `T` (`as` turns the outcome into it): the common case
// (the key is free) with the value itself, no response promise; only a
// join that waits for a takeover makes one.
template <class T, class As>
caf::result<T> answer_restore(registry_ptr self, const backup_key& key,
                              const caf::actor& channel, bool sees_progress,
                              time_point deadline, As as) {
  auto now = restore_now(self, key, channel, sees_progress, deadline);
  if (auto* answer = std::get_if<caf::expected<restore_outcome>>(&now)) {
    if (*answer)
      return as(std::move(**answer));
    return std::move(answer->error());
  }
  auto rp = self->make_response_promise<T>();
  wait_for_takeover(self, key, channel, sees_progress, deadline,
                    std::get<caf::actor_addr>(now),
                    [rp, as](caf::expected<restore_outcome> x) mutable {
                      if (x)
                        rp.deliver(as(std::move(*x)));
                      else
                        rp.deliver(std::move(x.error()));
                    });
  return rp;
}

// A local join: the outcome itself.
caf::result<restore_outcome> local_restore(registry_ptr self,
                                           const backup_key& key,
                                           const caf::actor& channel,
                                           time_point deadline) {
  return answer_restore<restore_outcome>(
    self, key, channel, true, deadline,
    [](restore_outcome out) { return out; });
}

// A channel on another node: answered as JSON text, no deadline.
caf::result<remote_restore> remote_restore_of(registry_ptr self,
                                              const backup_key& key,
                                              const caf::actor& channel) {
  return answer_restore<remote_restore>(self, key, channel, false,
                                        no_deadline, to_remote);
}

} // namespace

registry_actor spawn_registry(caf::actor_system& sys,
                              std::shared_ptr<backup_table> table) {
  auto impl = [](registry_ptr self, std::shared_ptr<backup_table> tbl)
    -> registry_actor::behavior_type {
    self->state.table = std::move(tbl);
    // Taking a table over (a registry restart): watch its live channels
    // again, or their down messages would reach nobody.
    for (const auto& addr : self->state.table->live_channels()) {
      if (auto ch = caf::actor_cast<caf::actor>(addr))
        self->monitor(ch);
      else
        self->state.table->detach(addr,
                                  caf::make_error(channel_exit::untracked),
                                  self->clock().now());
    }
    self->set_down_handler([self](caf::down_msg& dm) {
      auto& st = self->state;
      if (auto key = st.table->detach(dm.source, dm.reason,
                                      self->clock().now()))
        serve_waiting(self, *key);
      schedule_sweep(self);
    });
    return {
      [self](restore_atom, const backup_key& key,
             const caf::actor& channel) -> caf::result<restore_outcome> {
        return local_restore(self, key, channel, no_deadline);
      },
      [self](restore_atom, const backup_key& key, const caf::actor& channel,
             caf::timespan deadline) -> caf::result<restore_outcome> {
        return local_restore(self, key, channel, time_point{deadline});
      },
      [self](remote_restore_atom, const backup_key& key,
             const caf::actor& channel) -> caf::result<remote_restore> {
        return remote_restore_of(self, key, channel);
      },
      [self](commit_atom, const backup_key& key,
             const std::string& delta) -> caf::result<bool> {
        auto& st = self->state;
        auto cell = st.table->live_cell(key);
        // Only the key's current channel may commit: a channel that was
        // taken over must not overwrite its successor's state.
        if (!cell || !self->current_sender()
            || st.table->live_channel(key)
                 != caf::actor_cast<caf::actor_addr>(self->current_sender())) {
          ++st.table->counters().rejected_commits;
          return caf::make_error(registry_error::superseded,
                                 "not the key's live channel");
        }
        auto next = apply_delta(cell->load(), delta);
        if (!next) {
          ++st.table->counters().rejected_commits;
          return std::move(next.error());
        }
        cell->store(std::move(*next));
        // The acknowledgement the channel's held frames wait for.
        return true;
      },
      [self](reattach_atom, const backup_key& key, const caf::actor& channel,
             const std::string& assigns) -> caf::result<bool> {
        if (!valid(key) || !channel)
          return caf::make_error(registry_error::invalid_key,
                                 "reattach needs a key and a channel");
        auto snap = snapshot_from_json_text(assigns);
        if (!snap)
          return std::move(snap.error());
        auto& st = self->state;
        auto live = st.table->live_channel(key);
        // A newer join served the key meanwhile: it owns the key now.
        if ((live && *live != channel.address()) || st.waiting.count(key) > 0)
          return caf::make_error(registry_error::superseded,
                                 "the key is served by a newer join");
        // Still tracked (the registry restarted, or only the link dropped):
        // the channel's state is newer than the cell, which missed the
        // commits deferred meanwhile. Monitoring twice is harmless: the
        // second down message finds nothing to detach.
        self->monitor(channel);
        st.table->reattach(key, channel.address(), std::move(*snap));
        return true;
      },
      [self](caf::put_atom, const backup_key& key,
             const std::string& json) -> caf::result<std::uint64_t> {
        if (!valid(key))
          return caf::make_error(registry_error::invalid_key,
                                 "topic and client id must not be empty");
        auto snap = snapshot_from_json_text(json);
        if (!snap)
          return std::move(snap.error());
        auto bytes = snap->byte_size();
        self->state.table->put_backup(key, std::move(*snap),
                                      self->clock().now());
        schedule_sweep(self);
        return static_cast<std::uint64_t>(bytes);
      },
      [self](caf::get_atom,
             const backup_key& key) -> caf::result<std::string> {
        // Sweeps run every sweep_interval: what expired since must not be
        // shown as if a join could still restore it.
        self->state.table->expire(self->clock().now());
        if (auto snap = self->state.table->peek_backup(key))
          return boost::json::serialize(snap->to_object());
        return caf::make_error(registry_error::no_backup, to_string(key));
      },
      [self](stats_atom) {
        return boost::json::serialize(self->state.table->stats());
      },
      [self](sweep_atom) {
        auto& st = self->state;
        st.sweep_scheduled = false;
        st.table->expire(self->clock().now());
        if (pack_slice(self)) {
          // More cold backups: go on right after what is queued meanwhile,
          // so restores wait at most one slice.
          st.sweep_scheduled = true;
          self->send(self, sweep_atom::value);
          return;
        }
        schedule_sweep(self);
      },
      [self](wait_over_atom, const backup_key& key, std::uint64_t token) {
        auto& st = self->state;
        auto i = st.waiting.find(key);
        if (i == st.waiting.end() || i->second.token != token)
          return;
        if (self->clock().now() >= i->second.deadline) {
          // The join gave up before down_wait: the old channel keeps the
          // key until its down message (or a later join's down_wait).
          auto p = std::move(i->second);
          st.waiting.erase(i);
          p.deliver(too_late());
          return;
        }
        // The old channel did not go down in time (a frozen node): take its
        // last commit over; its late down message will find nothing to do.
        if (auto old = st.table->live_channel(key)) {
          ++st.table->counters().down_wait_timeouts;
          st.table->detach(*old, caf::make_error(channel_exit::taken_over),
                           self->clock().now());
        }
        serve_waiting(self, key);
      },
    };
  };
  return sys.spawn(impl, std::move(table));
}

} // namespace chanstate
