// The connection code for wss:// (TLS over TCP), instantiated here and only
// here; ws:// is in ws_server_plain.cpp.
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <chanstate/endpoint/ws_server_http.hpp>

namespace chanstate::ws_detail {

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

template class ws_connection<tls_stream>;
template class http_session<tls_stream>;

void start_tls_session(tcp::socket&& s, server_shared& shared) {
  std::make_shared<http_session<tls_stream>>(std::move(s), shared)->run();
}

} // namespace chanstate::ws_detail
