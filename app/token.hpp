// Signed identity tokens: HS256 JWTs checked against a rotating set of
// secrets. No CAF, no Beast: a connect hook of any server can call it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace chanstate {

/// Why a connect was refused for its token; each has a /stats counter
/// (`auth_failures.<to_string(x)>`) and is the `reason` of the 403 body.
enum class auth_failure : std::uint8_t {
  no_token = 1,       // a secret is configured but the connect carries none
  bad_signature,      // signed with no secret we hold, or tampered with
  bad_alg,            // header alg other than HS256, "none" included
  expired,            // exp (plus leeway) is in the past
  not_yet_valid,      // nbf or iat (minus leeway) is in the future
  malformed,          // not three base64url parts of JSON objects, no sub/exp
  client_id_mismatch, // a client_id param that differs from the token's sub
};

constexpr std::size_t auth_failure_count = 7;

/// The short name used on the wire and in /stats ("expired", ...).
const char* to_string(auth_failure x);

/// What a valid token says about its bearer.
struct token_identity {
  /// The `sub` claim: the client id that keys this client's backups.
  std::string subject;
  /// Every claim of the payload (sub, exp and custom ones such as topics).
  std::shared_ptr<const boost::json::object> claims;
};

/// Either an identity or why there is none.
struct token_verdict {
  std::optional<token_identity> identity;
  auth_failure failure = auth_failure::malformed; // only without identity

  /// True if the token was valid.
  explicit operator bool() const noexcept {
    return identity.has_value();
  }
};

/// Clock skew we forgive on exp, nbf and iat.
constexpr std::chrono::seconds token_leeway{30};

/// Longest token we look at; longer ones are malformed without decoding.
constexpr std::size_t max_token_bytes = 8192;

/// Shortest secret we accept (HS256 wants a key at least as long as the hash).
constexpr std::size_t min_secret_bytes = 32;

/// Checks a compact JWS: header.payload.signature, base64url without
/// padding; header {"alg":"HS256"}; the HMAC-SHA256 of "header.payload"
/// matches one of `secrets` (compared in constant time); the payload is an
/// object with a non-empty string `sub` and a numeric `exp`; exp, nbf and
/// iat hold at `now` (seconds since the epoch) within `leeway`. The
/// signature is checked before the payload is parsed.
token_verdict verify_token(std::string_view token,
                           const std::vector<std::string>& secrets,
                           std::int64_t now,
                           std::chrono::seconds leeway = token_leeway);

/// Signs `claims` with `secret` as an HS256 JWT (what `chanstate-node
/// token` prints and what tests use).
std::string sign_token(const boost::json::object& claims,
                       std::string_view secret);

/// Seconds since the epoch, the time tokens are checked against.
std::int64_t unix_now();

/// base64url without padding (RFC 7515 §2).
std::string base64url_encode(std::string_view bytes);

/// Decodes base64url or standard base64 (phoenix.js sends btoa's alphabet
/// in its subprotocol), padding optional. Nothing for any other character
/// or an impossible length.
std::optional<std::string> base64_decode_any(std::string_view text);

/// The secrets of `--token-secret-file`: one per line (blank lines and
/// lines starting with '#' skipped, trailing CR/blanks trimmed), each at
/// least min_secret_bytes long. The first signs, all verify. Reload swaps
/// the whole set atomically: a connect checks against the old set or the
/// new one, never a mix.
class token_keyring {
public:
  /// Reads `path`; on failure `error` says why and the result is null.
  static std::shared_ptr<token_keyring> load(const std::string& path,
                                             std::string& error);

  /// Re-reads the file. On failure keeps the current secrets and returns
  /// why; returns empty on success.
  std::string reload();

  /// The current secrets (a snapshot; never empty).
  std::shared_ptr<const std::vector<std::string>> secrets() const;

  /// verify_token against the current secrets at the current time.
  token_verdict verify(std::string_view token) const;

  /// The secrets file this keyring reads.
  const std::string& path() const noexcept {
    return path_;
  }

private:
  explicit token_keyring(std::string path) : path_(std::move(path)) {
  }

  std::string path_;
  mutable std::mutex mtx_;
  std::shared_ptr<const std::vector<std::string>> secrets_;
};

/// Parses a secrets file's text (see token_keyring); on failure `error`
/// says why (never quoting a secret) and the result is empty.
std::vector<std::string> parse_secrets(std::string_view text,
                                       std::string& error);

} // namespace chanstate
