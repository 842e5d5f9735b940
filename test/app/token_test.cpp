// The HS256 token verifier and the connect path with tokens: every refusal
// reason, rotation, leeway.
#include <doctest/doctest.h>

#include <cstdio>
#include <unistd.h>
#include <fstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chanstate/endpoint/connect_params.hpp>
#include <chanstate/endpoint/token.hpp>

using namespace chanstate;

namespace {

const std::string key_a = "alpha-secret-0123456789-0123456789-abcdef";
const std::string key_b = "bravo-secret-0123456789-0123456789-abcdef";
constexpr std::int64_t now = 1'800'000'000;

std::string token_for(std::string sub, std::int64_t exp,
                      const std::string& key = key_a,
                      boost::json::object extra = {}) {
  extra["sub"] = std::move(sub);
  extra["exp"] = exp;
  return sign_token(extra, key);
}

// A token with a header of our choosing, signed (or not) as given.
std::string forged(std::string_view header, const boost::json::object& claims,
                   std::string_view signature) {
  return base64url_encode(header) + '.'
         + base64url_encode(boost::json::serialize(claims)) + '.'
         + std::string{signature};
}

auth_failure refusal(const std::string& token,
                     const std::vector<std::string>& keys = {key_a}) {
  auto v = verify_token(token, keys, now);
  REQUIRE_FALSE(v);
  return v.failure;
}

} // namespace

TEST_CASE("a token signed with the secret names its subject and claims") {
  auto v = verify_token(
    token_for("alice", now + 60, key_a,
              {{"topics", boost::json::array{"room:1"}}}),
    {key_a}, now);
  REQUIRE(v);
  CHECK(v.identity->subject == "alice");
  CHECK(v.identity->claims->at("topics").as_array().size() == 1);
}

TEST_CASE("every refusal reason") {
  boost::json::object claims{{"sub", "alice"}, {"exp", now + 60}};
  SUBCASE("no token") {
    CHECK(refusal("") == auth_failure::no_token);
  }
  SUBCASE("signed with another secret") {
    CHECK(refusal(token_for("alice", now + 60, key_b))
          == auth_failure::bad_signature);
  }
  SUBCASE("payload changed after signing") {
    auto good = token_for("alice", now + 60);
    auto parts_end = good.rfind('.');
    auto bob = forged(R"({"alg":"HS256","typ":"JWT"})",
                      {{"sub", "bob"}, {"exp", now + 60}}, "");
    auto tampered = bob.substr(0, bob.size() - 1) + good.substr(parts_end);
    CHECK(refusal(tampered) == auth_failure::bad_signature);
  }
  SUBCASE("signature truncated") {
    auto good = token_for("alice", now + 60);
    CHECK(refusal(good.substr(0, good.size() - 4))
          == auth_failure::bad_signature);
  }
  SUBCASE("alg none, with or without a signature") {
    CHECK(refusal(forged(R"({"alg":"none"})", claims, ""))
          == auth_failure::bad_alg);
    CHECK(refusal(forged(R"({"alg":"none","typ":"JWT"})", claims, "AAAA"))
          == auth_failure::bad_alg);
  }
  SUBCASE("any alg but HS256") {
    for (auto h : {R"({"alg":"HS512"})", R"({"alg":"RS256"})",
                   R"({"alg":"hs256"})", R"({"alg":"HS256 "})"})
      CHECK(refusal(forged(h, claims, "")) == auth_failure::bad_alg);
  }
  SUBCASE("expired past the leeway") {
    CHECK(refusal(token_for("alice", now - 31)) == auth_failure::expired);
  }
  SUBCASE("nbf or iat in the future past the leeway") {
    CHECK(refusal(token_for("alice", now + 600, key_a, {{"nbf", now + 31}}))
          == auth_failure::not_yet_valid);
    CHECK(refusal(token_for("alice", now + 600, key_a, {{"iat", now + 31}}))
          == auth_failure::not_yet_valid);
  }
  SUBCASE("malformed") {
    for (auto t : {"a", "a.b", "a.b.c.d", "..", "!!.e30.AAAA", "e30.e30.AAAA"})
      CHECK(refusal(t) == auth_failure::malformed);
    // Padded parts are not base64url.
    auto good = token_for("alice", now + 60);
    CHECK(refusal(good + "=") == auth_failure::malformed);
    CHECK(refusal(std::string(max_token_bytes + 1, 'a'))
          == auth_failure::malformed);
    CHECK(refusal(forged(R"({"alg":"HS256","crit":["b64"]})", claims, ""))
          == auth_failure::malformed);
  }
  SUBCASE("signed but without sub or exp, or with dates that are not numbers") {
    CHECK(refusal(sign_token({{"exp", now + 60}}, key_a))
          == auth_failure::malformed);
    CHECK(refusal(sign_token({{"sub", ""}, {"exp", now + 60}}, key_a))
          == auth_failure::malformed);
    CHECK(refusal(sign_token({{"sub", "alice"}}, key_a))
          == auth_failure::malformed);
    CHECK(refusal(sign_token({{"sub", "alice"}, {"exp", "tomorrow"}}, key_a))
          == auth_failure::malformed);
    CHECK(refusal(sign_token(
            {{"sub", "alice"}, {"exp", now + 60}, {"nbf", "now"}}, key_a))
          == auth_failure::malformed);
  }
}

TEST_CASE("the leeway forgives 30 s of clock skew, no more") {
  CHECK(verify_token(token_for("alice", now - 30), {key_a}, now));
  CHECK_FALSE(verify_token(token_for("alice", now - 31), {key_a}, now));
  CHECK(verify_token(token_for("alice", now + 60, key_a, {{"nbf", now + 30}}),
                     {key_a}, now));
  CHECK(verify_token(token_for("alice", now + 60, key_a, {{"iat", now + 30}}),
                     {key_a}, now));
  // Fractional NumericDates (RFC 7519 allows them).
  CHECK(verify_token(sign_token({{"sub", "a"}, {"exp", now + 0.5}}, key_a),
                     {key_a}, now));
}

TEST_CASE("rotation: every secret verifies, so old tokens live until exp") {
  auto old_token = token_for("alice", now + 60, key_a);
  auto new_token = token_for("alice", now + 60, key_b);
  CHECK(verify_token(old_token, {key_b, key_a}, now));
  CHECK(verify_token(new_token, {key_b, key_a}, now));
  // Once the old secret is dropped from the file, its tokens are refused.
  CHECK(refusal(old_token, {key_b}) == auth_failure::bad_signature);
}

TEST_CASE("secrets file: one per line, at least 32 bytes, reloaded whole") {
  std::string error;
  auto s = parse_secrets("# comment\n" + key_a + "\r\n\n  " + key_b + "  \n",
                         error);
  CHECK(error.empty());
  CHECK(s == std::vector<std::string>{key_a, key_b});
  CHECK(parse_secrets(key_a + "\nshort\n", error).empty());
  CHECK(error.find("line 2") != std::string::npos);
  CHECK(error.find("short") == std::string::npos); // never quotes a secret
  error.clear();
  CHECK(parse_secrets("# only a comment\n", error).empty());
  CHECK_FALSE(error.empty());

  auto path = std::string{"/tmp/chanstate-token-test-"}
              + std::to_string(::getpid());
  std::ofstream{path} << key_a << '\n';
  auto ring = token_keyring::load(path, error);
  REQUIRE(ring);
  auto t = token_for("alice", unix_now() + 60, key_b);
  CHECK_FALSE(ring->verify(t));
  std::ofstream{path} << key_b << '\n' << key_a << '\n';
  CHECK(ring->reload().empty());
  CHECK(ring->verify(t));
  // A broken file keeps the secrets that were loaded.
  std::ofstream{path} << "short\n";
  CHECK_FALSE(ring->reload().empty());
  CHECK(ring->verify(t));
  std::remove(path.c_str());
  CHECK_FALSE(ring->reload().empty());
  CHECK(ring->secrets()->size() == 2);
  CHECK_FALSE(token_keyring::load(path, error));
}

TEST_CASE("base64: url and standard alphabets, padding optional") {
  CHECK(base64url_encode("my-token") == "bXktdG9rZW4");
  CHECK(base64_decode_any("bXktdG9rZW4") == std::optional<std::string>{"my-token"});
  CHECK(base64_decode_any("bXktdG9rZW4=") == std::optional<std::string>{"my-token"});
  CHECK(base64_decode_any("+/8") == std::optional<std::string>{"\xfb\xff"});
  CHECK(base64_decode_any("-_8") == std::optional<std::string>{"\xfb\xff"});
  CHECK_FALSE(base64_decode_any("a"));
  CHECK_FALSE(base64_decode_any("ab$d"));
}

TEST_CASE("connect with tokens: the token's sub is the client id") {
  std::vector<std::string> keys{key_a};
  auto alice = token_for("alice", now + 60);
  connect_auth auth{&keys, now, {}};
  SUBCASE("a token param") {
    auto v = check_connect("token=" + alice + "&vsn=2.0.0", {}, {}, auth);
    CHECK(v.status == 0);
    CHECK(v.client_id == "alice");
    REQUIRE(v.claims);
    CHECK(v.claims->at("sub") == "alice");
  }
  SUBCASE("phoenix.js's authToken subprotocol wins over a token param") {
    auto header = "phoenix, base64url.bearer.phx." + base64url_encode(alice);
    auth.subprotocols = header;
    auto v = check_connect("token=junk&vsn=2.0.0", {}, {}, auth);
    CHECK(v.status == 0);
    CHECK(v.client_id == "alice");
  }
  SUBCASE("a client_id param equal to sub is fine, another one is refused") {
    CHECK(check_connect("client_id=alice&token=" + alice + "&vsn=2.0.0", {}, {}, auth)
            .status
          == 0);
    auto v = check_connect("client_id=bob&token=" + alice + "&vsn=2.0.0", {},
                           {}, auth);
    CHECK(v.status == 403);
    CHECK(v.auth == auth_failure::client_id_mismatch);
  }
  SUBCASE("no token: a client_id alone is not enough") {
    auto v = check_connect("client_id=alice&vsn=2.0.0", {}, {}, auth);
    CHECK(v.status == 403);
    CHECK(v.auth == auth_failure::no_token);
    CHECK(v.reason == "no_token");
  }
  SUBCASE("a refusal never echoes the token") {
    auto v = check_connect("token=" + token_for("alice", now - 100)
                             + "&vsn=2.0.0", {},
                           {}, auth);
    CHECK(v.auth == auth_failure::expired);
    CHECK(v.reason.find("eyJ") == std::string::npos);
  }
  SUBCASE("an authToken that is not base64 is malformed") {
    auth.subprotocols = "phoenix, base64url.bearer.phx.$$$";
    CHECK(check_connect("vsn=2.0.0", {}, {}, auth).auth == auth_failure::malformed);
  }
  SUBCASE("a connect callback must still accept; the token's sub wins") {
    connect_callback cb = [](const connect_request& r) {
      if (r.params.count("banned"))
        return connect_decision::refuse("banned");
      return connect_decision::accept("someone-else");
    };
    auto ok = check_connect("token=" + alice + "&vsn=2.0.0", cb, {}, auth);
    CHECK(ok.status == 0);
    CHECK(ok.client_id == "alice");
    auto no = check_connect("banned=1&token=" + alice + "&vsn=2.0.0", cb, {},
                            auth);
    CHECK(no.status == 403);
    CHECK(no.reason == "banned");
  }
  SUBCASE("without secrets a token param is ignored, client_id rules") {
    auto v = check_connect("client_id=bob&token=" + alice + "&vsn=2.0.0");
    CHECK(v.status == 0);
    CHECK(v.client_id == "bob");
    CHECK_FALSE(v.claims);
  }
}
