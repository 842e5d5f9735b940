// Fuzzes the token parser and the connect path with tokens: the first line
// is a query string, the rest a Sec-WebSocket-Protocol header; the whole
// input is also tried as a bare token and, if it is a JSON object, as
// claims to sign and verify again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chanstate/endpoint/connect_params.hpp>
#include <chanstate/endpoint/token.hpp>
#include "test/fuzz/fuzz_check.hpp"

using namespace chanstate;
using chanstate::fuzz::check;

namespace {

const std::vector<std::string> secrets{
  "fuzz-secret-one-0123456789abcdef0123456789",
  "fuzz-secret-two-0123456789abcdef0123456789"};
constexpr std::int64_t now = 1'800'000'000;

bool is_reason(std::string_view r) {
  for (int i = 1; i <= static_cast<int>(auth_failure_count); ++i)
    if (r == to_string(static_cast<auth_failure>(i)))
      return true;
  return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto input = fuzz::as_text(data, size);

  auto bare = verify_token(input, secrets, now);
  if (bare) {
    check(!bare.identity->subject.empty(), "a valid token has a sub");
    check(bare.identity->claims->at("sub").as_string()
            == bare.identity->subject,
          "the identity is the sub claim");
  }

  auto nl = input.find('\n');
  connect_auth auth{&secrets, now,
                    nl == std::string_view::npos ? std::string_view{}
                                                 : input.substr(nl + 1)};
  auto v = check_connect(input.substr(0, nl), {}, {}, auth);
  check(v.status == 0 || v.status == 400 || v.status == 403,
        "a verdict accepts, or refuses with 400 or 403");
  if (v.status == 0) {
    check(!v.client_id.empty(), "an accepted connect has a client id");
    check(v.claims && v.claims->at("sub").as_string() == v.client_id,
          "the client id is the token's sub");
  } else if (v.auth) {
    check(v.status == 403, "a token refusal is a 403");
    check(is_reason(v.reason), "a token refusal names a reason, nothing else");
  }

  // Whatever object the input is, signing it as claims gives a token the
  // verifier accepts with the same claims.
  boost::json::error_code ec;
  auto parsed = boost::json::parse(input, ec);
  if (!ec && parsed.is_object()) {
    auto claims = parsed.get_object();
    claims["sub"] = "fuzz";
    claims["exp"] = now + 60;
    claims.erase("nbf");
    claims.erase("iat");
    // 1e400 parses to infinity, which serializes as no JSON at all: such
    // claims cannot make a token (the token command refuses them).
    if (!chanstate::fuzz::parses_as_json(boost::json::serialize(claims)))
      return 0;
    auto signed_token = sign_token(claims, secrets[1]);
    auto again = verify_token(signed_token, secrets, now);
    check(signed_token.size() > max_token_bytes || bool(again),
          "a token we signed verifies");
    // Boost.JSON 1.81 may move a double by one ULP per serialize/parse
    // round: compare with one such round.
    if (again)
      check(*again.identity->claims
              == boost::json::parse(boost::json::serialize(claims)),
            "claims survive signing");
  }
  return 0;
}
