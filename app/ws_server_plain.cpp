// The connection code for ws:// (plain TCP), instantiated here and only
// here; wss:// is in ws_server_tls.cpp. One stream per translation unit
// keeps each Beast compile to about half the time and memory of both.
#include <chanstate/endpoint/ws_server_http.hpp>

namespace chanstate::ws_detail {

template class ws_connection<beast::tcp_stream>;
template class http_session<beast::tcp_stream>;

void start_plain_session(tcp::socket&& s, server_shared& shared) {
  std::make_shared<http_session<beast::tcp_stream>>(std::move(s), shared)
    ->run();
}

} // namespace chanstate::ws_detail
