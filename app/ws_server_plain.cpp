// The connection code for ws:// (plain TCP), instantiated here and only
// here; wss:// is in ws_server_tls.cpp and ws_server_tls_ws.cpp. One stream
// per translation unit keeps each Beast compile small.
#include <chanstate/endpoint/ws_server_connection.hpp>
#include <chanstate/endpoint/ws_server_http.hpp>

namespace chanstate::ws_detail {

template class ws_connection<beast::tcp_stream>;
template class http_session<beast::tcp_stream>;
template void start_websocket<beast::tcp_stream>(
  beast::tcp_stream&&, server_shared&, std::string,
  std::shared_ptr<const boost::json::object>,
  http::request<http::string_body>);

void start_plain_session(tcp::socket&& s, server_shared& shared) {
  std::make_shared<http_session<beast::tcp_stream>>(std::move(s), shared)
    ->run();
}

} // namespace chanstate::ws_detail
