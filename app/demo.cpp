// The seed scenario, in-process, against the real registry and channels.
#include "app/demo.hpp"

#include <iostream>
#include <optional>
#include <string>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/channel_error.hpp>
#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/registry/registry_actor.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

namespace {

using namespace std::chrono_literals;

/// A client with one socket: the scoped actor is its transport.
class demo_client {
public:
  demo_client(caf::actor_system& sys, channel_env env)
    : sys_(sys), env_(std::move(env)), self_(sys) {
  }

  /// Joins and returns the join reply's response, or nothing on error.
  std::optional<boost::json::object> join(const std::string& topic,
                                          const std::string& client) {
    topic_ = topic;
    join_ref_ = next_ref();
    auto ch = join_channel(sys_, env_,
                           join_request{topic, client, join_ref_, {},
                                        caf::actor{self_}});
    if (!ch) {
      std::cerr << "join refused: " << explain(ch.error()) << '\n';
      return std::nullopt;
    }
    channel_ = *ch;
    self_->monitor(channel_);
    auto r = await_reply(join_ref_);
    if (!r || (*r)["status"] != "ok")
      return std::nullopt;
    return (*r)["response"].as_object();
  }

  void push(const std::string& event, boost::json::object payload) {
    self_->send(channel_, client_event{"", event, {std::move(payload)}});
  }

  std::optional<boost::json::object> call(const std::string& event,
                                          boost::json::object payload = {}) {
    auto ref = next_ref();
    self_->send(channel_, client_event{ref, event, {std::move(payload)}});
    return await_reply(ref);
  }

  void leave() {
    self_->send(channel_, caf::leave_atom::value, next_ref());
  }

  void kill() {
    self_->send_exit(channel_, caf::exit_reason::kill);
  }

  /// Waits for the channel's down message; returns its reason.
  std::optional<caf::error> await_down() {
    std::optional<caf::error> reason;
    bool done = false;
    while (!done)
      self_->receive(
        [&](caf::down_msg& dm) {
          if (dm.source == channel_.address()) {
            reason = dm.reason;
            done = true;
          }
        },
        [&](outbound_frame&) {},
        caf::after(5s) >> [&] { done = true; });
    return reason;
  }

private:
  std::string next_ref() {
    return std::to_string(++ref_);
  }

  std::optional<boost::json::object> await_reply(const std::string& ref) {
    std::optional<boost::json::object> result;
    bool done = false;
    while (!done)
      self_->receive(
        [&](outbound_frame& f) {
          if (f.event == "phx_reply" && f.ref == ref) {
            f.payload.materialize();
            result = std::move(f.payload.value);
            done = true;
          }
        },
        [&](caf::down_msg&) {},
        caf::after(5s) >> [&] { done = true; });
    return result;
  }

  caf::actor_system& sys_;
  channel_env env_;
  caf::scoped_actor self_;
  caf::actor channel_;
  std::string topic_;
  std::string join_ref_;
  int ref_ = 0;
};

boost::json::value ns_of(const std::optional<boost::json::object>& r) {
  if (!r)
    return nullptr;
  if (auto ns = r->if_contains("ns"))
    return *ns;
  if (auto resp = r->if_contains("response"))
    if (auto ns = resp->as_object().if_contains("ns"))
      return *ns;
  return nullptr;
}

} // namespace

int run_demo(caf::actor_system& sys) {
  auto routes = std::make_shared<router>();
  if (auto err = routes->add("room:*", demo_channel_factory())) {
    std::cerr << explain(err) << '\n';
    return 1;
  }
  auto table = std::make_shared<backup_table>(registry_config{});
  channel_env env{spawn_registry(sys, table), spawn_pubsub(sys), routes};
  bool ok = true;
  auto step = [&](const char* what, bool passed) {
    std::cerr << (passed ? "  ok   " : "  FAIL ") << what << '\n';
    ok = ok && passed;
  };
  const boost::json::value seed_ns = boost::json::array{2149, 1234};
  boost::json::object summary{{"scenario", "seed"}};
  {
    demo_client c{sys, env};
    std::cerr << "client 'seed' joins room:lobby, adds 2149 and 1234\n";
    auto j = c.join("room:lobby", "seed");
    step("join: fresh channel", j && (*j)["restored"] == false);
    c.push("add", {{"n", 2149}});
    c.push("add", {{"n", 1234}});
    auto g = c.call("get");
    step("get → [2149,1234]", ns_of(g) == seed_ns);

    std::cerr << "oopsy: the handler throws, the channel crashes\n";
    c.push("oopsy", {});
    auto down = c.await_down();
    step("channel ended abnormally", down && *down);
    if (down)
      std::cerr << "       down reason: " << describe(*down) << '\n';

    std::cerr << "the client rejoins: a new channel starts from the backup\n";
    auto r = c.join("room:lobby", "seed");
    step("rejoin: restored", r && (*r)["restored"] == true);
    auto g2 = c.call("get");
    step("get → [2149,1234]", ns_of(g2) == seed_ns);
    summary["restored"] = r ? (*r)["restored"] : boost::json::value(false);
    summary["ns"] = ns_of(g2);

    std::cerr << "add 7, then the channel is killed (Erlang's terminate would "
                 "not run)\n";
    c.push("add", {{"n", 7}});
    c.call("get");
    c.kill();
    c.await_down();
    auto k = c.join("room:lobby", "seed");
    const boost::json::value after_kill = boost::json::array{2149, 1234, 7};
    step("rejoin after kill: restored [2149,1234,7]",
         k && (*k)["restored"] == true && ns_of(k) == after_kill);
    summary["after_kill"] = ns_of(k);

    std::cerr << "the client leaves: a normal end drops the backup\n";
    c.leave();
    auto left = c.await_down();
    step("channel ended normally", left && !*left);
    auto f = c.join("room:lobby", "seed");
    step("join after leave: fresh and empty",
         f && (*f)["restored"] == false
           && ns_of(f) == boost::json::value(boost::json::array{}));
    summary["after_leave"] = ns_of(f);
    c.leave();
    c.await_down();

    demo_client other{sys, env};
    auto o = other.join("room:lobby", "someone-else");
    step("another client never sees this state",
         o && (*o)["restored"] == false
           && ns_of(o) == boost::json::value(boost::json::array{}));
    other.leave();
    other.await_down();
  }
  caf::anon_send_exit(env.registry, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(env.pubsub, caf::exit_reason::user_shutdown);
  summary["ok"] = ok;
  std::cout << boost::json::serialize(summary) << std::endl;
  return ok ? 0 : 1;
}

} // namespace chanstate
