// The assigns size limit: a commit over max_assigns_bytes is refused, the
// client gets an error, the last commit stays, and the refusal is counted.
#include <doctest/doctest.h>

#include <string>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/testing/channel_case.hpp>
#include <chanstate/registry/snapshot.hpp>

using namespace chanstate;
using namespace chanstate::testing;
namespace json = boost::json;

namespace {

using grow_atom = caf::atom_constant<caf::atom("lt_grow")>;

/// - join: params {"fill": n} → assigns "blob" = n × 'f' before the reply
/// - set {"key", "value"} → assigns, reply ok {"done": true}
/// - set_quiet {"key", "value"} → assigns, no reply
/// - unset {"key"} → unassigns, reply ok
/// - get {} → ok {"assigns": {...}}
/// - handle_info (grow_atom, n) → assigns "blob" = n × 'g', no reply
class sized_channel : public channel {
public:
  join_result join(const json::object& params, socket& s) override {
    if (auto n = params.if_contains("fill"))
      s.assign("blob", json::string(n->to_number<std::size_t>(), 'f'));
    return join_result::accept({{"assigns", s.assigns_object()}});
  }

  handle_result handle_in(const std::string& event, const json::object& p,
                          socket& s) override {
    if (event == "set" || event == "set_quiet") {
      s.assign(std::string{p.at("key").as_string()}, p.at("value"));
      if (event == "set_quiet")
        return handle_result::noreply();
      return handle_result::with_reply(ok({{"done", true}}));
    }
    if (event == "unset") {
      s.unassign(std::string{p.at("key").as_string()});
      return handle_result::with_reply(ok());
    }
    if (event == "get")
      return handle_result::with_reply(ok({{"assigns", s.assigns_object()}}));
    return handle_result::with_reply(error_reply({{"reason", "unknown"}}));
  }

  handle_result handle_info(const caf::message& msg, socket& s) override {
    if (msg.match_elements<grow_atom, std::int32_t>())
      s.assign("blob",
               json::string(static_cast<std::size_t>(msg.get_as<std::int32_t>(1)),
                            'g'));
    return handle_result::noreply();
  }
};

constexpr std::size_t limit = 1000;

case_options limited(std::size_t max = limit) {
  case_options opts;
  opts.max_assigns_bytes = max;
  return opts;
}

/// The bench with sized_channel on "lim:*" and max_assigns_bytes = 1000.
struct limit_case : channel_case {
  explicit limit_case(case_options opts = limited())
    : channel_case(std::move(opts)) {
    REQUIRE(!route("lim:*", [] { return std::make_unique<sized_channel>(); }));
  }

  std::optional<reply> set(const channel_handle& ch, const char* key,
                           json::value v) {
    return call(ch, "set", {{"key", key}, {"value", std::move(v)}});
  }

  json::object assigns(const channel_handle& ch) {
    auto r = call(ch, "get");
    REQUIRE(r);
    REQUIRE(r->status == "ok");
    return r->response.at("assigns").as_object();
  }

  std::uint64_t refused() {
    return stats()
      .at("commits_refused")
      .at("assigns_too_large")
      .to_number<std::uint64_t>();
  }

  /// The error a refused commit of `would_be` must answer with.
  static json::object refusal(const json::object& would_be) {
    return {{"reason", "assigns_too_large"},
            {"limit", limit},
            {"size", snapshot::from_object(would_be).byte_size()}};
  }
};

json::value text(std::size_t n, char c = 'x') {
  return json::string(n, c);
}

} // namespace

TEST_CASE_FIXTURE(limit_case, "a commit over the limit is refused with an "
                              "error reply and the last commit stays") {
  auto ch = join("lim:1", "alice");
  REQUIRE(joined(ch));
  auto r = set(ch, "x", 1);
  REQUIRE(r);
  CHECK(r->status == "ok");
  CHECK(refused() == 0);
  // Step 1: a value that takes the assigns over the limit.
  r = set(ch, "big", text(2 * limit));
  REQUIRE(r);
  CHECK(r->status == "error");
  CHECK(r->response == refusal({{"x", 1}, {"big", text(2 * limit)}}));
  CHECK(r->response.at("size").to_number<std::size_t>() > limit);
  // Step 2: nothing was published, the channel serves the old state.
  CHECK(live("lim:1", "alice") == json::object{{"x", 1}});
  CHECK(assigns(ch) == json::object{{"x", 1}});
  CHECK(refused() == 1);
  CHECK(alive(ch));
  // Step 3: a commit under the limit works again.
  r = set(ch, "y", 2);
  REQUIRE(r);
  CHECK(r->status == "ok");
  CHECK(live("lim:1", "alice") == json::object{{"x", 1}, {"y", 2}});
  CHECK(refused() == 1);
}

TEST_CASE_FIXTURE(limit_case, "after a refused commit a crash restores the "
                              "previous state, not the refused one") {
  auto ch = join("lim:1", "alice");
  REQUIRE(set(ch, "x", "small")->status == "ok");
  // The refused commit replaces an existing key: the old value must stay.
  CHECK(set(ch, "x", text(2 * limit))->status == "error");
  crash(ch);
  CHECK(*exit_reason(ch) == channel_exit::crashed);
  CHECK(backup("lim:1", "alice") == json::object{{"x", "small"}});
  auto again = rejoin(ch);
  REQUIRE(joined(again));
  CHECK(assigns(again) == json::object{{"x", "small"}});
  CHECK(refused() == 1);
}

TEST_CASE_FIXTURE(limit_case, "a refused commit leaves other clients on the "
                              "topic unharmed") {
  auto alice = join("lim:1", "alice");
  auto bob = join("lim:1", "bob");
  REQUIRE(set(bob, "b", 1)->status == "ok");
  CHECK(set(alice, "big", text(2 * limit))->status == "error");
  REQUIRE(set(bob, "c", 2)->status == "ok");
  CHECK(live("lim:1", "bob") == json::object{{"b", 1}, {"c", 2}});
  CHECK(assigns(alice).empty());
  kill(bob);
  CHECK(backup("lim:1", "bob") == json::object{{"b", 1}, {"c", 2}});
}

TEST_CASE_FIXTURE(limit_case, "handlers that do not reply still tell the "
                              "client: an error reply to the ref, else a "
                              "commit_refused push") {
  auto ch = join("lim:1", "alice");
  // A client event with a ref whose handler does not reply.
  auto r = call(ch, "set_quiet", {{"key", "big"}, {"value", text(2 * limit)}});
  REQUIRE(r);
  CHECK(r->status == "error");
  CHECK(r->response.at("reason") == "assigns_too_large");
  // No ref to answer: a client event without one, and handle_info.
  push(ch, "set_quiet", {{"key", "big"}, {"value", text(2 * limit)}});
  info(ch, grow_atom::value, std::int32_t{3000});
  auto pushes = frames(ch, frame_kind::push);
  REQUIRE(pushes.size() == 2);
  for (const auto& f : pushes) {
    CHECK(f.event == "commit_refused");
    CHECK(f.payload.value.at("reason") == "assigns_too_large");
    CHECK(f.payload.value.at("limit") == limit);
  }
  CHECK(pushes[1].payload.value.at("size")
        == snapshot::from_object({{"blob", text(3000, 'g')}}).byte_size());
  CHECK(assigns(ch).empty());
  CHECK(live("lim:1", "alice") == json::object{});
  CHECK(refused() == 3);
  // Under the limit handle_info commits as before.
  info(ch, grow_atom::value, std::int32_t{10});
  CHECK(live("lim:1", "alice") == json::object{{"blob", text(10, 'g')}});
  CHECK(refused() == 3);
}

TEST_CASE_FIXTURE(limit_case, "a join whose commit is over the limit is "
                              "refused and keeps the backup it was offered") {
  REQUIRE(put_backup("lim:1", "alice", R"({"x":5})"));
  auto ch = join("lim:1", "alice", {{"fill", 2 * limit}});
  auto r = join_reply(ch);
  REQUIRE(r);
  CHECK(r->status == "error");
  CHECK(r->response
        == refusal({{"x", 5}, {"blob", text(2 * limit, 'f')}}));
  CHECK_FALSE(alive(ch));
  CHECK(*exit_reason(ch) == channel_exit::join_refused);
  CHECK(backup("lim:1", "alice") == json::object{{"x", 5}});
  CHECK(refused() == 1);
  // The same client joins again without the fill: restored, serving.
  auto again = join("lim:1", "alice");
  REQUIRE(joined(again));
  CHECK(assigns(again) == json::object{{"x", 5}});
}

TEST_CASE("the size check follows assigns and unassigns, not only growth") {
  // Room for one 600-byte value plus one small one, never for two big ones.
  auto base = snapshot{}.byte_size();
  auto big = text(600);
  auto cap = base + snapshot::entry_bytes("a", big)
             + snapshot::entry_bytes("a", "s") + 10;
  limit_case t{limited(cap)};
  auto ch = t.join("lim:1", "alice");
  auto status = [&](const char* key, json::value v) {
    auto r = t.set(ch, key, std::move(v));
    REQUIRE(r);
    return r->status;
  };
  CHECK(status("a", big) == "ok");
  CHECK(status("b", big) == "error"); // two big values: over
  // Removing "a" must give its bytes back, or "b" would still be refused.
  auto r = t.call(ch, "unset", {{"key", "a"}});
  REQUIRE(r);
  CHECK(r->status == "ok");
  CHECK(status("b", big) == "ok");
  // Replacing "b" must subtract its old size, or this would count twice.
  CHECK(status("b", text(600, 'y')) == "ok");
  CHECK(status("a", "s") == "ok");
  CHECK(status("a", big) == "error"); // a small value may not grow past it
  CHECK(t.live("lim:1", "alice")
        == json::object{{"a", "s"}, {"b", text(600, 'y')}});
  CHECK(t.refused() == 2);
}

TEST_CASE("max_assigns_bytes 0 means no limit; the default is 1 MiB") {
  auto over_a_mib = text((std::size_t{1} << 20) + 1);
  {
    limit_case t{limited(0)};
    auto ch = t.join("lim:1", "alice");
    CHECK(t.set(ch, "big", over_a_mib)->status == "ok");
    CHECK(t.refused() == 0);
  }
  {
    limit_case t{case_options{}};
    CHECK(t.env().max_assigns_bytes == std::size_t{1} << 20);
    auto ch = t.join("lim:1", "alice");
    CHECK(t.set(ch, "ok", text(1000))->status == "ok");
    CHECK(t.set(ch, "big", over_a_mib)->status == "error");
    CHECK(t.refused() == 1);
  }
}

namespace {

TEST_CASE_FIXTURE(limit_case, "a request that reaches handle_info is still "
                              "answered (events and other one-way messages "
                              "are not)") {
  auto ch = join("lim:1", "alice");
  auto answered = std::make_shared<int>(0);
  auto failed = std::make_shared<int>(0);
  // The target comes as an argument: CAF 0.17 spawns a lambda without
  // arguments through a null argument tuple (UBSan flags it).
  system().spawn(
    [answered, failed](caf::event_based_actor* self, caf::actor to) {
      self->request(to, caf::infinite, grow_atom::value, std::int32_t{10})
        .then([answered] { ++*answered; },
              [failed](caf::error&) { ++*failed; });
    },
    ch.actor);
  // Runs the requester, the channel and the answer.
  info(ch, grow_atom::value, std::int32_t{12});
  CHECK(*answered == 1);
  CHECK(*failed == 0);
  CHECK(live("lim:1", "alice")->contains("blob"));
}

} // namespace
