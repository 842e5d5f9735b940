// Connect params: the query string of /socket/websocket, decoded like Plug.
#include <chanstate/endpoint/connect_params.hpp>

#include <cctype>
#include <exception>
#include <utility>

namespace chanstate {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i]))
        != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// The service's connect/3. A throw refuses the connect (500) instead of
// unwinding into the endpoint's Asio thread.
connect_verdict decide_connect(const connect_callback& connect,
                               std::map<std::string, std::string> params,
                               std::string_view origin, connect_verdict v) {
  connect_decision d;
  try {
    d = connect(connect_request{std::move(params), std::string{origin}});
  } catch (const std::exception& e) {
    v.status = 500;
    v.reason = std::string{"connect callback failed: "} + e.what();
    return v;
  } catch (...) {
    v.status = 500;
    v.reason = "connect callback failed";
    return v;
  }
  if (!d.accepted) {
    v.status = 403;
    v.reason = d.reason.empty() ? "connect refused" : std::move(d.reason);
    return v;
  }
  if (d.client_id.empty()) {
    // Backups are keyed by client id: an empty one would share them.
    v.status = 500;
    v.reason = "connect callback accepted with an empty client id";
    return v;
  }
  v.client_id = std::move(d.client_id);
  return v;
}

} // namespace


request_target split_target(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= s.size())
        return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>>
parse_query(std::string_view query) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos
                                  ? std::string_view{}
                                  : pair.substr(eq + 1));
    if (!key || !value)
      return std::nullopt;
    params[std::move(*key)] = std::move(*value);
  }
  return params;
}

bool vsn_supported(std::string_view vsn) {
  constexpr std::string_view prefix = "2.0.";
  if (vsn.substr(0, prefix.size()) != prefix || vsn.size() == prefix.size())
    return false;
  for (char c : vsn.substr(prefix.size()))
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

std::optional<std::string> bearer_from_subprotocols(std::string_view header) {
  constexpr std::string_view prefix = "base64url.bearer.phx.";
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = trim(header.substr(0, comma));
    if (item.substr(0, prefix.size()) == prefix)
      return base64_decode_any(item.substr(prefix.size()));
    header = comma == std::string_view::npos ? std::string_view{}
                                             : header.substr(comma + 1);
  }
  return std::string{};
}

connect_verdict check_connect(std::string_view query,
                              const connect_callback& connect,
                              std::string_view origin,
                              const connect_auth& auth) {
  connect_verdict v;
  auto params = parse_query(query);
  if (!params) {
    v.status = 400;
    v.reason = "malformed query string";
    return v;
  }
  auto vsn = params->find("vsn");
  v.vsn = vsn == params->end() ? "1.0.0" : vsn->second;
  if (!vsn_supported(v.vsn)) {
    v.status = 403;
    v.reason = "unsupported serializer version " + v.vsn
               + " (this server speaks ~> 2.0.0)";
    return v;
  }
  auto id = params->find("client_id");
  if (auth.secrets) {
    // Never quote the token: the reason names the rule, not the input.
    auto refuse = [&](auth_failure why) {
      v.status = 403;
      v.auth = why;
      v.reason = to_string(why);
      return v;
    };
    auto token = bearer_from_subprotocols(auth.subprotocols);
    if (!token)
      return refuse(auth_failure::malformed);
    if (token->empty())
      if (auto t = params->find("token"); t != params->end())
        token = t->second;
    auto checked = verify_token(*token, *auth.secrets, auth.now);
    if (!checked)
      return refuse(checked.failure);
    if (id != params->end() && id->second != checked.identity->subject)
      return refuse(auth_failure::client_id_mismatch);
    auto subject = std::move(checked.identity->subject);
    v.claims = std::move(checked.identity->claims);
    if (connect) {
      v = decide_connect(connect, std::move(*params), origin, std::move(v));
      if (v.status != 0)
        return v;
    }
    v.client_id = std::move(subject);
    return v;
  }
  if (connect)
    return decide_connect(connect, std::move(*params), origin, std::move(v));
  if (id == params->end() || id->second.empty()) {
    v.status = 403;
    v.reason = "missing client_id";
    return v;
  }
  v.client_id = id->second;
  return v;
}

std::vector<std::string> parse_origin_list(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = trim(list.substr(0, comma));
    if (!item.empty())
      out.emplace_back(item);
    list = comma == std::string_view::npos ? std::string_view{}
                                           : list.substr(comma + 1);
  }
  return out;
}

bool offers_subprotocol(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto comma = header.find(',');
    if (trim(header.substr(0, comma)) == name)
      return true;
    header = comma == std::string_view::npos ? std::string_view{}
                                             : header.substr(comma + 1);
  }
  return false;
}

std::string socket_url(const std::string& host, unsigned port, bool tls) {
  auto h = host.find(':') == std::string::npos ? host : "[" + host + "]";
  return (tls ? "wss://" : "ws://") + h + ":" + std::to_string(port) + "/socket";
}

bool origin_allowed(const std::vector<std::string>& allowed,
                    std::string_view origin) {
  if (allowed.empty() || origin.empty())
    return true;
  for (const auto& a : allowed)
    if (iequals(a, origin))
      return true;
  return false;
}

} // namespace chanstate
