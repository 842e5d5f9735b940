// The registry link while the remote registry is out of reach: joins wait
// for it (bounded in time and in number), and subscribers hear up and down.
// The "other node" is a local registry behind a stand-in for CAF's
// middleman, so everything runs on the deterministic scheduler.
#include <doctest/doctest.h>

#include <set>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/demo_channel.hpp>
#include <chanstate/actors/registry_link.hpp>
#include <chanstate/actors/testing/channel_case.hpp>

using namespace chanstate;
using namespace chanstate::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

struct connector_state {
  static inline const char* name = "test.fake_connector";
  caf::actor target;
};

using connect_result
  = caf::result<caf::node_id, caf::strong_actor_ptr, std::set<std::string>>;

// Answers (connect_atom, host, port) as the middleman does: with `target`
// once the test set one ((put_atom, actor)), with an error before.
caf::behavior fake_connector(caf::stateful_actor<connector_state>* self,
                             caf::actor target) {
  self->state.target = std::move(target);
  return {
    [self](caf::connect_atom, const std::string&,
           std::uint16_t) -> connect_result {
      if (!self->state.target)
        return caf::make_error(caf::sec::cannot_connect_to_node,
                               "nobody listens there");
      return {caf::node_id{},
              caf::actor_cast<caf::strong_actor_ptr>(self->state.target),
              std::set<std::string>{}};
    },
    [self](caf::put_atom, caf::actor& target) {
      self->state.target = std::move(target);
    },
  };
}

// Records every link_status it is sent.
caf::behavior status_recorder(caf::event_based_actor*,
                         std::shared_ptr<std::vector<bool>> log) {
  return {
    [log](link_status_atom, bool up, const std::string&) {
      log->push_back(up);
    },
  };
}

/// A channel node whose registry is behind a link, and the registry "node"
/// that can go away and come back over the same table.
struct link_case : channel_case {
  explicit link_case(std::size_t max_waiting = 16)
    : channel_case(case_options{}) {
    REQUIRE(!route("room:*", demo_channel_factory()));
    registry = env().registry;
    watch(caf::actor_cast<caf::actor>(registry));
    connector = system().spawn(fake_connector, caf::actor{});
    watch(connector);
    registry_link_options opts;
    opts.retry = 100ms;
    opts.join_wait = 5s; // the channels' restore timeout is 10 s
    opts.max_waiting_joins = max_waiting;
    opts.connector = connector;
    link = spawn_registry_link(system(), "registry-node", 4242, opts);
    watch(caf::actor_cast<caf::actor>(link));
    env().registry = link;
    env().remote_registry = true;
    run();
  }

  /// The registry node comes up (again) on the link's address.
  void registry_up() {
    caf::anon_send(connector, caf::put_atom::value,
                   caf::actor_cast<caf::actor>(registry));
    run();
  }

  /// The registry node dies; a new registry over the same table will take
  /// its place at registry_up().
  void registry_down() {
    caf::anon_send(connector, caf::put_atom::value, caf::actor{});
    run();
    kill_registry();
    registry = spawn_registry(system(), shared_table());
    watch(caf::actor_cast<caf::actor>(registry));
  }

  /// Every link_status a new subscriber hears, up (true) or down.
  std::shared_ptr<std::vector<bool>> status_log() {
    auto log = std::make_shared<std::vector<bool>>();
    auto sub = system().spawn(status_recorder, log);
    watch(sub);
    caf::anon_send(caf::actor_cast<caf::actor>(link),
                   caf::subscribe_atom::value, sub);
    return log;
  }

  json::object link_stats() {
    auto s = ask<std::string>(caf::actor_cast<caf::actor>(link),
                              link_stats_atom::value);
    REQUIRE(s);
    return json::parse(*s).as_object();
  }

  std::int64_t link_stat(const char* name) {
    return link_stats().at(name).to_number<std::int64_t>();
  }

  std::string join_detail(const channel_handle& ch) {
    auto r = join_reply(ch);
    REQUIRE(r);
    auto d = r->response.if_contains("detail");
    return d && d->is_string() ? std::string{d->get_string()} : "";
  }

  registry_actor registry;
  caf::actor connector;
  registry_actor link;

private:
  void kill_registry() {
    caf::anon_send_exit(registry, caf::exit_reason::kill);
    run();
  }

  std::shared_ptr<backup_table> shared_table() {
    // channel_case owns the table; a restarted registry takes it over.
    return std::shared_ptr<backup_table>(std::shared_ptr<void>{}, &table());
  }
};

} // namespace

TEST_CASE("a join that arrives before the link is up waits for it") {
  link_case t;
  // Step 1: the registry node is not there yet; the join is held.
  auto ch = t.join("room:1", "alice");
  CHECK_FALSE(t.join_reply(ch));
  CHECK(t.link_stat("waiting_joins") == 1);
  t.advance(1s); // retries fail; still waiting
  CHECK_FALSE(t.join_reply(ch));
  // Step 2: the registry node comes up within the bound: the join goes
  // through, and the channel serves and commits through the link.
  t.registry_up();
  t.advance(100ms);
  REQUIRE(t.joined(ch));
  CHECK(t.join_reply(ch)->response.at("restored") == false);
  t.push(ch, "add", {{"n", 7}});
  CHECK(t.live("room:1", "alice") == json::object{{"ns", json::array{7}}});
  CHECK(t.link_stat("waiting_joins") == 0);
  CHECK(t.link_stat("waited_joins") == 1);
  CHECK(t.link_stat("refused_joins") == 0);
}

TEST_CASE("a rejoin during a registry restart waits and gets its state back") {
  link_case t;
  t.registry_up();
  t.advance(100ms);
  // Step 1: commit, then the channel is killed: the registry keeps it.
  auto ch = t.join("room:1", "bob");
  REQUIRE(t.joined(ch));
  t.push(ch, "add", {{"n", 1}});
  t.push(ch, "add", {{"n", 2}});
  t.kill(ch);
  // Step 2: the registry node restarts; the rejoin arrives in between.
  t.registry_down();
  t.advance(100ms);
  auto again = t.rejoin(ch);
  CHECK_FALSE(t.join_reply(again));
  // Step 3: it is back: the held rejoin is restored from the backup.
  t.registry_up();
  t.advance(100ms);
  REQUIRE(t.joined(again));
  CHECK(t.join_reply(again)->response.at("restored") == true);
  CHECK(t.join_reply(again)->response.at("ns") == json::array{1, 2});
}

TEST_CASE("a connect answered with the registry that just died is retried") {
  // CAF's middleman answers a connect from its host:port cache until its
  // own down message for the cached actor arrives, which may come after the
  // link's: the link must not hand waiting joins to that dead actor.
  link_case t;
  t.registry_up();
  t.advance(100ms);
  auto dead = t.registry;
  t.registry_down();
  caf::anon_send(t.connector, caf::put_atom::value,
                 caf::actor_cast<caf::actor>(dead)); // the stale cache entry
  t.run();
  auto ch = t.join("room:1", "dave");
  t.advance(300ms);
  CHECK_FALSE(t.join_reply(ch));
  CHECK(t.link_stat("stale_connects") >= 1);
  CHECK(t.link_stats().at("connected") == false);
  // The middleman's cache catches up: the new registry answers the join.
  t.registry_up();
  t.advance(100ms);
  REQUIRE(t.joined(ch));
  CHECK(t.join_reply(ch)->status == "ok");
  CHECK(t.link_stats().at("connected") == true);
}

TEST_CASE("a connect answered with the proxy of the connection just lost is "
          "retried, and the registry is welcome back through a new one") {
  // A SIGKILLed registry node looks like a cut link
  // (remote_link_unreachable), and the middleman's cache may still answer
  // with the dead proxy: adopting it went up and at once down again (seen
  // as ups 2 / downs 2 in e2e_log_events under load).
  link_case t;
  auto log = t.status_log();
  auto proxy = t.system().spawn([] { return caf::behavior{[](int) {}}; });
  caf::anon_send(t.connector, caf::put_atom::value, proxy);
  t.run();
  t.advance(100ms);
  REQUIRE(t.link_stats().at("connected") == true);
  caf::anon_send_exit(proxy, caf::exit_reason::remote_link_unreachable);
  t.run(); // the connector still answers with the dead proxy
  t.advance(300ms);
  CHECK(t.link_stat("stale_connects") >= 1);
  CHECK(t.link_stats().at("connected") == false);
  CHECK(*log == std::vector<bool>{false, true, false});
  t.registry_up(); // a new connection: a new proxy
  t.advance(100ms);
  CHECK(t.link_stats().at("connected") == true);
  CHECK(*log == std::vector<bool>{false, true, false, true});
}

TEST_CASE("a join refused after join_wait says the registry is unreachable") {
  link_case t;
  auto ch = t.join("room:1", "carol");
  t.advance(4900ms);
  CHECK_FALSE(t.join_reply(ch));
  // The link answers at 5 s, before the channel's own 10 s timeout.
  t.advance(100ms);
  auto r = t.join_reply(ch);
  REQUIRE(r);
  CHECK(r->status == "error");
  CHECK(r->response.at("reason") == "restore failed");
  auto detail = t.join_detail(ch);
  CHECK(detail.find("registry at registry-node:4242 is unreachable")
        != std::string::npos);
  CHECK(detail.find("waited 5000 ms") != std::string::npos);
  CHECK(t.link_stat("refused_joins") == 1);
  CHECK(t.link_stat("waiting_joins") == 0);
  // A later join still waits and succeeds once the registry is there.
  auto later = t.join("room:2", "carol");
  t.registry_up();
  t.advance(100ms);
  CHECK(t.joined(later));
}

TEST_CASE("joins past max_waiting_joins are refused at once and counted") {
  link_case t{2};
  auto a = t.join("room:1", "a");
  auto b = t.join("room:1", "b");
  auto c = t.join("room:1", "c");
  CHECK_FALSE(t.join_reply(a));
  CHECK_FALSE(t.join_reply(b));
  REQUIRE(t.join_reply(c));
  CHECK(t.join_reply(c)->status == "error");
  CHECK(t.join_detail(c).find("2 joins already wait") != std::string::npos);
  CHECK(t.link_stat("waiting_joins") == 2);
  CHECK(t.link_stat("refused_joins") == 1);
  t.registry_up();
  t.advance(100ms);
  CHECK(t.joined(a));
  CHECK(t.joined(b));
}

TEST_CASE("a waiting join whose channel ends is dropped, not delegated") {
  link_case t;
  auto ch = t.join("room:1", "dave");
  CHECK(t.link_stat("waiting_joins") == 1);
  t.drop_transport(ch); // the client went away while it waited
  CHECK_FALSE(t.alive(ch));
  CHECK(t.link_stat("waiting_joins") == 0);
  t.registry_up();
  t.advance(100ms);
  CHECK(t.link_stat("tracked_channels") == 0);
  CHECK_FALSE(t.table().peek_live(backup_key{"room:1", "dave"}).has_value());
}

TEST_CASE("subscribers hear the link's state, then every change") {
  link_case t;
  auto log = t.status_log();
  t.run();
  CHECK(*log == std::vector<bool>{false});
  t.registry_up();
  t.advance(100ms);
  t.registry_down();
  t.advance(100ms);
  t.registry_up();
  t.advance(100ms);
  CHECK(*log == std::vector<bool>{false, true, false, true});
}
