// Connect params: what phoenix.js puts in /socket/websocket?... and the verdict.
#include <chanstate/endpoint/connect_params.hpp>

#include <doctest/doctest.h>

using namespace chanstate;

TEST_CASE("the target splits at the first question mark") {
  auto t = split_target("/socket/websocket?client_id=a&vsn=2.0.0");
  CHECK(t.path == "/socket/websocket");
  CHECK(t.query == "client_id=a&vsn=2.0.0");
  auto bare = split_target("/stats");
  CHECK(bare.path == "/stats");
  CHECK(bare.query.empty());
}

TEST_CASE("percent escapes and plus signs decode") {
  CHECK(percent_decode("a%20b") == "a b");
  CHECK(percent_decode("a+b") == "a b");
  CHECK(percent_decode("user%5Bid%5D") == "user[id]");
  CHECK(percent_decode("%c3%A9") == "\xc3\xa9");
  CHECK(percent_decode("plain") == "plain");
  CHECK(percent_decode("") == "");
}

TEST_CASE("a truncated or non-hex escape does not decode") {
  CHECK_FALSE(percent_decode("%"));
  CHECK_FALSE(percent_decode("abc%4"));
  CHECK_FALSE(percent_decode("%zz"));
}

TEST_CASE("the query phoenix.js sends parses into decoded pairs") {
  auto p = parse_query("token=abc&user%5Bid%5D=7&client_id=a%2Fb&vsn=2.0.0");
  REQUIRE(p);
  CHECK(p->at("token") == "abc");
  CHECK(p->at("user[id]") == "7");
  CHECK(p->at("client_id") == "a/b");
  CHECK(p->at("vsn") == "2.0.0");
}

TEST_CASE("empty pairs are skipped, bare keys get empty values, last wins") {
  auto p = parse_query("&a&&b=1&b=2&");
  REQUIRE(p);
  CHECK(p->size() == 2);
  CHECK(p->at("a").empty());
  CHECK(p->at("b") == "2");
  CHECK_FALSE(parse_query("a=%G1"));
}

TEST_CASE("vsn must match ~> 2.0.0") {
  CHECK(vsn_supported("2.0.0"));
  CHECK(vsn_supported("2.0.17"));
  CHECK_FALSE(vsn_supported("1.0.0"));
  CHECK_FALSE(vsn_supported("2.1.0"));
  CHECK_FALSE(vsn_supported("123.1.1"));
  CHECK_FALSE(vsn_supported("2.0."));
  CHECK_FALSE(vsn_supported("2.0.x"));
  CHECK_FALSE(vsn_supported(""));
}

TEST_CASE("a v2 connect with a client id is accepted") {
  auto v = check_connect("client_id=alice&vsn=2.0.0");
  CHECK(v.status == 0);
  CHECK(v.client_id == "alice");
  CHECK(v.vsn == "2.0.0");
}

TEST_CASE("another vsn, or none (which means 1.0.0), is refused with 403") {
  auto other = check_connect("client_id=a&vsn=123.1.1");
  CHECK(other.status == 403);
  CHECK(other.reason.find("123.1.1") != std::string::npos);
  auto none = check_connect("client_id=a");
  CHECK(none.status == 403);
  CHECK(none.vsn == "1.0.0");
}

TEST_CASE("a missing or empty client_id is refused with 403") {
  CHECK(check_connect("vsn=2.0.0").status == 403);
  CHECK(check_connect("client_id=&vsn=2.0.0").status == 403);
  CHECK(check_connect("vsn=2.0.0").reason == "missing client_id");
}

TEST_CASE("a malformed query is a bad request") {
  CHECK(check_connect("client_id=%&vsn=2.0.0").status == 400);
}

TEST_CASE("origins: no list or no header allows; a list must match") {
  CHECK(origin_allowed({}, "http://evil.example"));
  std::vector<std::string> list{"https://app.example", "http://localhost:4000"};
  CHECK(origin_allowed(list, ""));
  CHECK(origin_allowed(list, "https://app.example"));
  CHECK(origin_allowed(list, "HTTPS://APP.example"));
  CHECK_FALSE(origin_allowed(list, "http://app.example"));
  CHECK_FALSE(origin_allowed(list, "https://app.example.evil"));
}

TEST_CASE("the allowed-origins option is a comma-separated list") {
  CHECK(parse_origin_list("") == std::vector<std::string>{});
  CHECK(parse_origin_list(" https://a.example , http://b:8080,,")
        == std::vector<std::string>{"https://a.example", "http://b:8080"});
}

TEST_CASE("the phoenix subprotocol is found in an offered list") {
  CHECK(offers_subprotocol("phoenix", "phoenix"));
  CHECK(offers_subprotocol("phoenix, base64url.bearer.phx.bXk", "phoenix"));
  CHECK(offers_subprotocol("a,phoenix", "phoenix"));
  CHECK_FALSE(offers_subprotocol("", "phoenix"));
  CHECK_FALSE(offers_subprotocol("phoenix2, xphoenix", "phoenix"));
}

TEST_CASE("the listening URL is what phoenix.js takes as its endpoint") {
  CHECK(socket_url("127.0.0.1", 4000) == "ws://127.0.0.1:4000/socket");
  CHECK(socket_url("::1", 4001) == "ws://[::1]:4001/socket");
}
