// The WebSocket side of wss:// (a connection over TLS), instantiated here
// and only here; ws_server_tls.cpp hands upgraded streams to it.
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <chanstate/endpoint/ws_server_connection.hpp>

namespace chanstate::ws_detail {

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

template class ws_connection<tls_stream>;
template void start_websocket<tls_stream>(
  tls_stream&&, server_shared&, std::string,
  std::shared_ptr<const boost::json::object>,
  http::request<http::string_body>);

} // namespace chanstate::ws_detail
