// What a WebSocket upgrade request must carry: path, connect params, origin.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include <chanstate/endpoint/token.hpp>

namespace chanstate {

/// A request target split at the first '?'.
struct request_target {
  std::string_view path;
  std::string_view query;
};

/// Splits "/socket/websocket?vsn=2.0.0" into path and query (without the
/// '?'; empty if there is none). Views into `target`.
request_target split_target(std::string_view target);

/// Decodes %XX escapes and '+' (as a space, the form encoding). Returns
/// nothing for a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view s);

/// Parses "a=1&b=x%20y" into decoded pairs; a key without '=' gets "".
/// A later duplicate key wins, as in Plug. Nothing for a bad escape.
std::optional<std::map<std::string, std::string>>
parse_query(std::string_view query);

/// The verdict on a connect: status 0 means accepted (with the client id
/// and vsn to use), otherwise the HTTP
/// status to refuse with (400 malformed query, 403 refused) and why.
struct connect_verdict {
  int status = 0;
  std::string reason;
  std::string client_id;
  std::string vsn;
  /// Set when the refusal is about the token (status 403).
  std::optional<auth_failure> auth;
  /// The verified token's claims (null without tokens).
  std::shared_ptr<const boost::json::object> claims;
};

/// How a connect proves who it is.
struct connect_auth {
  /// The secrets tokens must be signed with; null means no tokens: the
  /// client_id param is taken on trust.
  const std::vector<std::string>* secrets = nullptr;
  /// Seconds since the epoch to check exp, nbf and iat against.
  std::int64_t now = 0;
  /// The Sec-WebSocket-Protocol header, where phoenix.js's authToken comes.
  std::string_view subprotocols;
};

/// What a connect callback sees: the upgrade request's decoded query
/// params (phoenix.js's `params`, plus `vsn`) and its Origin header.
struct connect_request {
  std::map<std::string, std::string> params;
  std::string origin; // empty when the client sent none
};

/// A connect callback's answer: accept with the client id that keys the
/// socket's backups, or refuse (HTTP 403 with the reason).
struct connect_decision {
  bool accepted = false;
  std::string client_id;
  std::string reason;

  /// Accepts the socket; `client_id` keys its backups.
  static connect_decision accept(std::string client_id) {
    return {true, std::move(client_id), {}};
  }

  /// Refuses the upgrade with HTTP 403 and `reason`.
  static connect_decision refuse(std::string reason) {
    return {false, {}, std::move(reason)};
  }
};

/// Phoenix's connect/3: decides whether a socket may connect and which
/// client id it gets. Runs on the endpoint's Asio thread for every upgrade
/// request: keep it short and never wait for an actor in it. A throw
/// refuses the connect with HTTP 500.
using connect_callback = std::function<connect_decision(const connect_request&)>;

/// Phoenix's rules for the v2 serializer: vsn defaults to "1.0.0" and must
/// match ~> 2.0.0 (2.0.z). With `auth.secrets`, the connect must carry a
/// valid token (the authToken subprotocol first, else a `token` param):
/// its `sub` is the client id, a `client_id` param, if any, must equal it,
/// and a `connect` callback, if set, must still accept (its client id is
/// ignored: the token's wins). Without secrets `connect` decides; without
/// either, client_id must be present and non-empty and is the client id.
connect_verdict check_connect(std::string_view query,
                              const connect_callback& connect = {},
                              std::string_view origin = {},
                              const connect_auth& auth = {});

/// The token phoenix.js's authToken option sends: the decoded
/// `base64url.bearer.phx.<b64>` entry of a Sec-WebSocket-Protocol header.
/// Empty if there is no such entry; nothing if it does not decode.
std::optional<std::string> bearer_from_subprotocols(std::string_view header);

/// True if `vsn` matches Elixir's `~> 2.0.0`: "2.0.<digits>".
bool vsn_supported(std::string_view vsn);

/// Parses "--allowed-origins" ("https://a.example, http://b:8080"): a
/// comma-separated list, blanks trimmed, empty entries skipped.
std::vector<std::string> parse_origin_list(std::string_view list);

/// Phoenix's check_origin: no allow list, or no Origin header, means allowed;
/// otherwise the origin must equal an entry (ASCII case-insensitive).
bool origin_allowed(const std::vector<std::string>& allowed,
                    std::string_view origin);

/// True if a Sec-WebSocket-Protocol header ("a, b") lists `name`.
bool offers_subprotocol(std::string_view header, std::string_view name);

/// The URL phoenix.js takes for a node listening on host:port:
/// "ws://host:port/socket" ("wss://" with TLS; an IPv6 literal in brackets).
std::string socket_url(const std::string& host, unsigned port,
                       bool tls = false);

} // namespace chanstate
