// The HTTP side of wss:// (TLS handshake, requests, the upgrade), here and
// only here; its WebSocket side is in ws_server_tls_ws.cpp, ws:// in
// ws_server_plain.cpp.
#include <boost/beast/ssl.hpp>

#include <chanstate/endpoint/ws_server_http.hpp>

namespace chanstate::ws_detail {

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

template class http_session<tls_stream>;

void start_tls_session(tcp::socket&& s, server_shared& shared) {
  std::make_shared<http_session<tls_stream>>(std::move(s), shared)->run();
}

} // namespace chanstate::ws_detail
