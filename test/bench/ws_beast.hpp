// The Beast stream type of the bench's WebSocket clients (ws_load_session
// and ws_pool), and the namespaces they share.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace chanstate::bench::ws_detail {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
// Every connection lives on one io_context run by one thread, so its
// handlers need no strand, and the stream names the io_context's executor
// type instead of any_io_executor: the type-erased executor (copied,
// queried and destroyed on every read and write) and its reference counts
// were about a quarter of the generator's CPU (perf).
using executor = net::io_context::executor_type;
using ws_stream = websocket::stream<beast::basic_stream<tcp, executor>>;

} // namespace chanstate::bench::ws_detail
