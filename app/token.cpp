// HS256 JWT verification with OpenSSL's HMAC and Boost.JSON. Not libjwt:
// bookworm's 1.10.2 takes one key per decode (no rotation without trying
// each key through its API), compares signatures with strcmp (not constant
// time, CVE-2024-25189, fixed only in 1.15.3), and decides the algorithm
// from the token's own header, so refusing `none` and every alg but HS256
// would be our code around it anyway.
#include <chanstate/endpoint/token.hpp>

#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace chanstate {

namespace {

constexpr std::size_t sha256_bytes = 32;

using digest = std::array<unsigned char, sha256_bytes>;

bool hmac_sha256(std::string_view key, std::string_view data, digest& out) {
  unsigned int len = 0;
  auto* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(data.data()),
                 data.size(), out.data(), &len);
  return r != nullptr && len == out.size();
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-' || c == '+')
    return 62;
  if (c == '_' || c == '/')
    return 63;
  return -1;
}

// Strict base64url for the JWS parts: its alphabet only, no padding.
std::optional<std::string> base64url_decode(std::string_view s) {
  for (char c : s)
    if (c == '+' || c == '/' || c == '=')
      return std::nullopt;
  return base64_decode_any(s);
}

std::optional<boost::json::object> parse_object(std::string_view text) {
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  return std::move(v.get_object());
}

// A NumericDate: any finite JSON number (RFC 7519 allows fractions).
std::optional<double> numeric_date(const boost::json::value& v) {
  if (!v.is_number())
    return std::nullopt;
  auto d = v.to_number<double>();
  if (!std::isfinite(d))
    return std::nullopt;
  return d;
}

token_verdict refuse(auth_failure why) {
  token_verdict v;
  v.failure = why;
  return v;
}

std::string_view trim(std::string_view s) {
  auto blank = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return s;
}

} // namespace

const char* to_string(auth_failure x) {
  switch (x) {
    case auth_failure::no_token:
      return "no_token";
    case auth_failure::bad_signature:
      return "bad_signature";
    case auth_failure::bad_alg:
      return "bad_alg";
    case auth_failure::expired:
      return "expired";
    case auth_failure::not_yet_valid:
      return "not_yet_valid";
    case auth_failure::malformed:
      return "malformed";
    case auth_failure::client_id_mismatch:
      return "client_id_mismatch";
  }
  return "malformed";
}

std::string base64url_encode(std::string_view bytes) {
  static constexpr char alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0)
    out.push_back(alphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

std::optional<std::string> base64_decode_any(std::string_view s) {
  while (!s.empty() && s.back() == '=')
    s.remove_suffix(1);
  // One leftover character carries 6 bits: not a whole byte.
  if (s.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(s.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    auto v = b64_value(c);
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

token_verdict verify_token(std::string_view token,
                           const std::vector<std::string>& secrets,
                           std::int64_t now, std::chrono::seconds leeway) {
  if (token.empty())
    return refuse(auth_failure::no_token);
  if (token.size() > max_token_bytes)
    return refuse(auth_failure::malformed);
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1
                                             : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos
      || token.find('.', dot2 + 1) != std::string_view::npos)
    return refuse(auth_failure::malformed);
  auto signing_input = token.substr(0, dot2);
  auto header_text = base64url_decode(token.substr(0, dot1));
  if (!header_text)
    return refuse(auth_failure::malformed);
  auto header = parse_object(*header_text);
  if (!header)
    return refuse(auth_failure::malformed);
  auto alg = header->if_contains("alg");
  if (!alg || !alg->is_string())
    return refuse(auth_failure::malformed);
  // The algorithm is ours to choose, not the token's: anything else,
  // "none" and "hs256" included, is refused before any key is touched.
  if (alg->get_string() != "HS256")
    return refuse(auth_failure::bad_alg);
  // RFC 7515 §4.1.11: extensions we do not know must not be ignored.
  if (header->contains("crit"))
    return refuse(auth_failure::malformed);
  auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!sig)
    return refuse(auth_failure::malformed);
  bool matched = false;
  if (sig->size() == sha256_bytes) {
    for (const auto& secret : secrets) {
      digest mac{};
      if (hmac_sha256(secret, signing_input, mac)
          && CRYPTO_memcmp(mac.data(), sig->data(), mac.size()) == 0)
        matched = true;
    }
  }
  if (!matched)
    return refuse(auth_failure::bad_signature);
  // Only signed bytes are parsed from here on.
  auto payload_text = base64url_decode(
    token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload_text)
    return refuse(auth_failure::malformed);
  auto claims = parse_object(*payload_text);
  if (!claims)
    return refuse(auth_failure::malformed);
  auto sub = claims->if_contains("sub");
  if (!sub || !sub->is_string() || sub->get_string().empty())
    return refuse(auth_failure::malformed);
  auto exp_v = claims->if_contains("exp");
  if (!exp_v)
    return refuse(auth_failure::malformed); // exp is required here
  auto exp = numeric_date(*exp_v);
  if (!exp)
    return refuse(auth_failure::malformed);
  auto t = static_cast<double>(now);
  auto slack = static_cast<double>(leeway.count());
  if (t > *exp + slack)
    return refuse(auth_failure::expired);
  for (auto name : {"nbf", "iat"}) {
    if (auto v = claims->if_contains(name)) {
      auto when = numeric_date(*v);
      if (!when)
        return refuse(auth_failure::malformed);
      if (*when > t + slack)
        return refuse(auth_failure::not_yet_valid);
    }
  }
  token_verdict ok;
  ok.identity = token_identity{
    std::string{sub->get_string()},
    std::make_shared<const boost::json::object>(std::move(*claims))};
  return ok;
}

std::string sign_token(const boost::json::object& claims,
                       std::string_view secret) {
  auto input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + '.'
               + base64url_encode(boost::json::serialize(claims));
  digest mac{};
  hmac_sha256(secret, input, mac);
  return input + '.'
         + base64url_encode({reinterpret_cast<const char*>(mac.data()),
                             mac.size()});
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::vector<std::string> parse_secrets(std::string_view text,
                                       std::string& error) {
  std::vector<std::string> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{}
                                        : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#')
      continue;
    if (line.size() < min_secret_bytes) {
      error = "secret on line " + std::to_string(line_no) + " has "
              + std::to_string(line.size()) + " bytes; at least "
              + std::to_string(min_secret_bytes) + " are required";
      return {};
    }
    out.emplace_back(line);
  }
  if (out.empty())
    error = "no secret in the file (one per line, at least "
            + std::to_string(min_secret_bytes) + " bytes each)";
  return out;
}

std::shared_ptr<token_keyring> token_keyring::load(const std::string& path,
                                                   std::string& error) {
  std::shared_ptr<token_keyring> ring{new token_keyring(path)};
  error = ring->reload();
  if (!error.empty())
    return nullptr;
  return ring;
}

std::string token_keyring::reload() {
  std::ifstream in{path_, std::ios::binary};
  if (!in)
    return "cannot read token secret file " + path_;
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string error;
  auto secrets = parse_secrets(buf.str(), error);
  if (!error.empty())
    return path_ + ": " + error;
  auto next = std::make_shared<const std::vector<std::string>>(
    std::move(secrets));
  std::lock_guard<std::mutex> guard{mtx_};
  secrets_ = std::move(next);
  return {};
}

std::shared_ptr<const std::vector<std::string>> token_keyring::secrets() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return secrets_;
}

token_verdict token_keyring::verify(std::string_view token) const {
  auto s = secrets();
  return verify_token(token, *s, unix_now());
}

} // namespace chanstate
