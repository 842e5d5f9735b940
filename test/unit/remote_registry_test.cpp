// A channel on one node keeps its state in a registry on another node.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/frames.hpp>
#include <chanstate/actors/join.hpp>
#include <chanstate/actors/message_types.hpp>
#include <chanstate/actors/pubsub.hpp>
#include <chanstate/actors/registry_link.hpp>
#include <chanstate/registry/registry_actor.hpp>
#include <chanstate/registry/registry_error.hpp>

using namespace chanstate;
using namespace std::chrono_literals;

namespace {

struct node_config : caf::actor_system_config {
  node_config() {
    register_message_types(*this);
    load<caf::io::middleman>();
    set("scheduler.max-threads", 2);
  }
};

/// Waits for the reply to `ref` on `self`; nothing on timeout.
std::optional<boost::json::object> await_reply(caf::scoped_actor& self,
                                               const std::string& ref) {
  std::optional<boost::json::object> out;
  bool done = false;
  while (!done)
    self->receive(
      [&](outbound_frame& f) {
        if (f.event == "phx_reply" && f.ref == ref) {
          f.payload.materialize();
          out = std::move(f.payload.value);
          done = true;
        }
      },
      [&](caf::down_msg&) {}, caf::after(10s) >> [&] { done = true; });
  return out;
}

/// Collects the replies to every ref in `refs`, in whatever order they
/// come; a ref missing after 10 s of silence is missing from the result.
std::map<std::string, boost::json::object>
await_replies(caf::scoped_actor& self, std::set<std::string> refs) {
  std::map<std::string, boost::json::object> out;
  bool timed_out = false;
  while (!timed_out && out.size() < refs.size())
    self->receive(
      [&](outbound_frame& f) {
        if (f.event == "phx_reply" && refs.count(f.ref) != 0) {
          f.payload.materialize();
          out[f.ref] = std::move(f.payload.value);
        }
      },
      [&](caf::down_msg&) {}, caf::after(10s) >> [&] { timed_out = true; });
  return out;
}

/// Waits until `ch` is down (the client monitors it); frames are skipped.
void wait_down(caf::scoped_actor& self, const caf::actor& ch) {
  bool done = false;
  while (!done)
    self->receive([&](outbound_frame&) {},
                  [&](caf::down_msg& dm) { done = dm.source == ch.address(); },
                  caf::after(10s) >> [&] {
                    FAIL("no down message within 10 s");
                    done = true;
                  });
}

} // namespace

TEST_CASE("a killed channel on node B is restored from the registry on node A") {
  node_config cfg_a;
  node_config cfg_b;
  caf::actor_system node_a{cfg_a};
  caf::actor_system node_b{cfg_b};
  auto registry = spawn_registry(
    node_a, std::make_shared<backup_table>(registry_config{}));
  auto port = node_a.middleman().publish(registry, 0, "127.0.0.1");
  REQUIRE(port);
  auto remote = node_b.middleman().remote_actor<registry_actor>("127.0.0.1",
                                                                *port);
  REQUIRE(remote);
  auto routes = std::make_shared<router>();
  REQUIRE(!routes->add("room:*", demo_channel_factory()));
  channel_env env{*remote, spawn_pubsub(node_b), routes};
  caf::scoped_actor client{node_b};
  auto join = [&](const std::string& jr) {
    auto ch = join_channel(node_b, env,
                           join_request{"room:r", "alice", jr, {},
                                        caf::actor{client}});
    REQUIRE(ch);
    client->monitor(*ch);
    auto reply = await_reply(client, jr);
    REQUIRE(reply);
    CHECK((*reply)["status"] == "ok");
    return std::make_pair(*ch, (*reply)["response"].as_object());
  };
  // Step 1: join on B; the registry on A answers "nothing saved".
  auto [ch, first] = join("1");
  CHECK(first["restored"] == false);
  // Step 2: two adds and a get; the commits cross to A as deltas.
  client->send(ch, client_event{"", "add", {{{"n", 5}}}});
  client->send(ch, client_event{"", "add", {{{"n", 6}}}});
  client->send(ch, client_event{"2", "get", {}});
  auto got = await_reply(client, "2");
  REQUIRE(got);
  CHECK((*got)["response"].as_object()["ns"] == boost::json::array{5, 6});
  // Step 3: kill the channel on B; A keeps the last commit.
  client->send_exit(ch, caf::exit_reason::kill);
  // Step 4: rejoin on B: restored from A.
  auto [restored_ch, second] = join("3");
  CHECK(second["restored"] == true);
  CHECK(second["ns"] == boost::json::array{5, 6});
  // Step 4b: crash on the first event, four times in a row. A cannot see a
  // channel on B make progress, so it never blames the state (poison guard).
  auto ch2 = restored_ch;
  for (int i = 0; i < 4; ++i) {
    client->send(ch2, client_event{"", "oopsy", {}});
    wait_down(client, ch2);
    auto [again, r] = join("c" + std::to_string(i));
    CHECK(r["restored"] == true);
    CHECK(r["ns"] == boost::json::array{5, 6});
    CHECK_FALSE(r.contains("fallback_generation"));
    ch2 = again;
  }
  // Step 5: a leave drops it on A.
  client->send(ch2, caf::leave_atom::value, std::string{"4"});
  await_reply(client, "4");
  std::string stats;
  client->request(registry, 10s, stats_atom::value)
    .receive([&](std::string& s) { stats = std::move(s); },
             [](caf::error& err) { FAIL(describe(err)); });
  auto st = boost::json::parse(stats).as_object();
  CHECK(st["restores"].as_object()["from_backup"] == 5); // step 4 and 4b
  CHECK(st["exits"].as_object()["kept_after_other"] == 1); // a kill
  CHECK(st["exits"].as_object()["kept_after_crash"] == 4);
  CHECK(st["quarantine"].as_object()["crashes_without_progress"] == 0);
  client->send_exit(env.pubsub, caf::exit_reason::user_shutdown);
  client->send_exit(registry, caf::exit_reason::user_shutdown);
  node_a.middleman().unpublish(registry, *port);
}

TEST_CASE("a channel node rides out a registry restart through its link") {
  node_config cfg_a;
  node_config cfg_b;
  caf::actor_system node_a{cfg_a};
  caf::actor_system node_b{cfg_b};
  // The table outlives the registry actor, as an ETS heir would.
  auto table = std::make_shared<backup_table>(registry_config{});
  auto registry = spawn_registry(node_a, table);
  auto port = node_a.middleman().publish(registry, 0, "127.0.0.1", true);
  REQUIRE(port);
  registry_link_options link_opts;
  link_opts.retry = 20ms;
  auto link = spawn_registry_link(node_b, "127.0.0.1", *port, link_opts);
  std::vector<caf::actor> to_stop{caf::actor_cast<caf::actor>(link),
                                  caf::actor_cast<caf::actor>(registry)};
  // Long-lived actors keep ~actor_system waiting; stop them even when a
  // REQUIRE ends the test early.
  struct stopper {
    std::vector<caf::actor>& xs;
    caf::actor_system& a;
    ~stopper() {
      for (auto& x : xs)
        caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
      a.middleman().close(0);
    }
  } stop_all{to_stop, node_a};
  auto routes = std::make_shared<router>();
  REQUIRE(!routes->add("room:*", demo_channel_factory()));
  channel_env env{link, spawn_pubsub(node_b), routes};
  env.remote_registry = true;
  to_stop.push_back(env.pubsub);
  caf::scoped_actor client{node_b};
  auto link_stats = [&] {
    boost::json::object out;
    client->request(caf::actor_cast<caf::actor>(link), 10s,
                    link_stats_atom::value)
      .receive([&](std::string& s) { out = boost::json::parse(s).as_object(); },
               [](caf::error& err) { FAIL(describe(err)); });
    return out;
  };
  // Bounded wait for the link to reach `connected` (real network, no
  // deterministic scheduler across two nodes).
  auto await_connected = [&](bool want) {
    for (int i = 0; i < 500; ++i) {
      if (link_stats()["connected"] == want)
        return true;
      client->receive(caf::after(10ms) >> [] {});
    }
    return false;
  };
  REQUIRE(await_connected(true));
  // Step 1: join through the link and commit two values.
  auto ch = join_channel(node_b, env,
                         join_request{"room:x", "bob", "1", {},
                                      caf::actor{client}});
  REQUIRE(ch);
  client->monitor(*ch);
  REQUIRE(await_reply(client, "1"));
  client->send(*ch, client_event{"", "add", {{{"n", 1}}}});
  client->send(*ch, client_event{"2", "get", {}});
  REQUIRE(await_reply(client, "2"));
  // Step 2: the registry dies; the link notices; a join waits for it.
  client->send_exit(registry, caf::exit_reason::kill);
  REQUIRE(node_a.middleman().close(*port));
  REQUIRE(await_connected(false));
  auto waiting = join_channel(node_b, env,
                              join_request{"room:y", "carol", "9", {},
                                           caf::actor{client}});
  REQUIRE(waiting);
  // (Its answer comes in step 4: ok, because it waited for the link.)
  // Step 3: the live channel keeps handling events; its commit is
  // deferred, and the reply after it waits until the registry holds it
  // (acknowledged means durable): it is read after step 4.
  client->send(*ch, client_event{"", "add", {{{"n", 2}}}});
  client->send(*ch, client_event{"3", "get", {}});
  // Step 4: a new registry takes the same table over on the same port; the
  // link reconnects and the channel reattaches with its full state.
  auto registry2 = spawn_registry(node_a, table);
  to_stop.push_back(caf::actor_cast<caf::actor>(registry2));
  auto port2 = node_a.middleman().publish(registry2, *port, "127.0.0.1",
                                          true);
  REQUIRE(port2);
  REQUIRE(await_connected(true));
  // The waiting join and the held reply are both released now, in no
  // order between the two channels: collect both.
  auto released = await_replies(client, {"9", "3"});
  REQUIRE(released.count("9") == 1);
  CHECK(released["9"]["status"] == "ok");
  auto reattached = [&] {
    std::uint64_t n = 0;
    client->request(registry2, 10s, stats_atom::value)
      .receive(
        [&](std::string& s) {
          n = boost::json::parse(s).as_object()["reattached"].to_number<std::uint64_t>();
        },
        [](caf::error& err) { FAIL(describe(err)); });
    return n;
  };
  for (int i = 0; i < 500 && reattached() == 0; ++i)
    client->receive(caf::after(10ms) >> [] {});
  CHECK(reattached() == 1);
  // The reattach acknowledged the deferred commit: the held reply is out.
  REQUIRE(released.count("3") == 1);
  CHECK(released["3"]["response"].as_object()["ns"]
        == boost::json::array{1, 2});
  // Step 5: kill the channel; the rejoin gets what it had during the outage.
  client->send_exit(*ch, caf::exit_reason::kill);
  auto again = join_channel(node_b, env,
                            join_request{"room:x", "bob", "4", {},
                                         caf::actor{client}});
  REQUIRE(again);
  auto back = await_reply(client, "4");
  REQUIRE(back);
  CHECK((*back)["response"].as_object()["restored"] == true);
  CHECK((*back)["response"].as_object()["ns"] == boost::json::array{1, 2});
  client->send(*again, caf::leave_atom::value, std::string{"5"});
  await_reply(client, "5");
  node_a.middleman().unpublish(registry2, *port2);
}
