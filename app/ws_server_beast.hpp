// Internal to the endpoint (not installed): the Beast names the connection
// headers share, and the one call from an HTTP connection into a WebSocket
// connection. Declaring start_websocket here (defined in
// ws_server_connection.hpp) lets the wss:// HTTP code and the wss://
// WebSocket code compile in separate TUs (ws_server_tls.cpp,
// ws_server_tls_ws.cpp): the heaviest instantiation is split in two.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/object.hpp>

#include <chanstate/endpoint/ws_server_shared.hpp>

namespace chanstate::ws_detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

/// Plain TCP is beast::tcp_stream; every other stream is TLS over it.
template <class Stream>
constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

inline std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

/// Upgrades `stream` (its HTTP request `req` accepted) to a WebSocket
/// connection for `client_id`. Explicitly instantiated per stream.
template <class Stream>
void start_websocket(Stream&& stream, server_shared& shared,
                     std::string client_id,
                     std::shared_ptr<const boost::json::object> claims,
                     http::request<http::string_body> req);

} // namespace chanstate::ws_detail
