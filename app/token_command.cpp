// `chanstate-node token`: signs with the first secret of the secrets file.
#include "app/token_command.hpp"

#include <cctype>
#include <iostream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chanstate/endpoint/token.hpp>

namespace chanstate {

namespace {

constexpr const char* usage
  = "usage: chanstate-node token --sub=ID [--ttl=1h] "
    "[--claims='{\"topics\":[\"room:1\"]}'] --token-secret-file=PATH\n";

int fail(const std::string& why) {
  std::cerr << "chanstate-node token: " << why << '\n' << usage;
  return 2;
}

} // namespace

long long parse_ttl_seconds(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
    return -1;
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (...) {
    return -1;
  }
  auto unit = text.substr(used);
  long long scale = 0;
  if (unit.empty() || unit == "s")
    scale = 1;
  else if (unit == "m" || unit == "min")
    scale = 60;
  else if (unit == "h")
    scale = 3600;
  else if (unit == "d")
    scale = 86400;
  else
    return -1;
  // A ttl of more than ten years is surely a typo.
  if (n > 10LL * 366 * 86400 / scale)
    return -1;
  return n * scale;
}

int run_token_command(const std::vector<std::string>& args,
                      std::string secret_file) {
  std::string sub;
  std::string ttl = "1h";
  std::string claims_text;
  for (const auto& a : args) {
    auto eq = a.find('=');
    auto name = a.substr(0, eq);
    auto value = eq == std::string::npos ? std::string{} : a.substr(eq + 1);
    if (eq == std::string::npos)
      return fail("unexpected argument " + a);
    if (name == "--sub")
      sub = value;
    else if (name == "--ttl")
      ttl = value;
    else if (name == "--claims")
      claims_text = value;
    else if (name == "--token-secret-file")
      secret_file = value;
    else
      return fail("unknown option " + name);
  }
  if (sub.empty())
    return fail("--sub is required (the client id the token is for)");
  if (secret_file.empty())
    return fail("--token-secret-file is required");
  auto ttl_s = parse_ttl_seconds(ttl);
  if (ttl_s <= 0)
    return fail("--ttl must be a positive duration such as 90s, 15m, 1h");
  boost::json::object claims;
  if (!claims_text.empty()) {
    boost::json::error_code ec;
    auto v = boost::json::parse(claims_text, ec);
    if (ec || !v.is_object())
      return fail("--claims must be a JSON object");
    // Boost.JSON reads 1e400 as infinity and writes it as no JSON at all.
    boost::json::parse(boost::json::serialize(v), ec);
    if (ec)
      return fail("--claims has a number out of range");
    claims = std::move(v.get_object());
  }
  std::string why;
  auto ring = token_keyring::load(secret_file, why);
  if (!ring) {
    std::cerr << "chanstate-node token: " << why << '\n';
    return 1;
  }
  auto now = unix_now();
  // The flags win over the same names in --claims.
  claims["sub"] = sub;
  claims["iat"] = now;
  claims["exp"] = now + ttl_s;
  std::cout << sign_token(claims, ring->secrets()->front()) << '\n';
  return 0;
}

} // namespace chanstate
