// The connect callback (Phoenix's connect/3) as check_connect applies it.
#include <doctest/doctest.h>

#include <stdexcept>

#include <chanstate/endpoint/connect_params.hpp>

using namespace chanstate;

TEST_CASE("a connect callback sees the decoded params and origin and picks the client id") {
  connect_request seen;
  auto v = check_connect("user=ada%20l&token=s3&vsn=2.0.0",
                         [&](const connect_request& req) {
                           seen = req;
                           return connect_decision::accept("user:" + req.params.at("user"));
                         },
                         "https://app.example");
  CHECK(v.status == 0);
  CHECK(v.client_id == "user:ada l");
  CHECK(seen.params.at("token") == "s3");
  CHECK(seen.params.at("vsn") == "2.0.0");
  CHECK(seen.origin == "https://app.example");
}

TEST_CASE("with a callback, client_id is not required; without one it still is") {
  auto accept_all = [](const connect_request&) {
    return connect_decision::accept("anon");
  };
  CHECK(check_connect("vsn=2.0.0", accept_all).status == 0);
  CHECK(check_connect("vsn=2.0.0").status == 403);
}

TEST_CASE("a refusal is a 403 with the callback's reason") {
  auto v = check_connect("vsn=2.0.0", [](const connect_request&) {
    return connect_decision::refuse("bad token");
  });
  CHECK(v.status == 403);
  CHECK(v.reason == "bad token");
  CHECK(v.client_id.empty());
}

TEST_CASE("the serializer version is checked before the callback runs") {
  bool called = false;
  auto v = check_connect("vsn=1.0.0", [&](const connect_request&) {
    called = true;
    return connect_decision::accept("x");
  });
  CHECK(v.status == 403);
  CHECK_FALSE(called);
}

TEST_CASE("a callback that throws or accepts an empty id refuses with 500") {
  auto thrown = check_connect("vsn=2.0.0", [](const connect_request&) -> connect_decision {
    throw std::runtime_error("db down");
  });
  CHECK(thrown.status == 500);
  CHECK(thrown.reason == "connect callback failed: db down");
  auto empty = check_connect("vsn=2.0.0", [](const connect_request&) {
    return connect_decision::accept("");
  });
  CHECK(empty.status == 500);
}
