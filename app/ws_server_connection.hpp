// Internal to the endpoint (not installed): one upgraded WebSocket
// connection, a template over its stream. Only ws_server_plain.cpp and
// ws_server_tls_ws.cpp include it, each instantiating it for one stream.
// Never `using namespace caf` here: with Asio's namespaces, `error`,
// `string_view` and `span` become ambiguous.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>

#include <chanstate/endpoint/connect_params.hpp>
#include <chanstate/endpoint/log.hpp>
#include <chanstate/endpoint/phoenix_session.hpp>
#include <chanstate/endpoint/ws_server_beast.hpp>

namespace chanstate::ws_detail {

namespace websocket = beast::websocket;

/// One upgraded connection: read loop, write queue, the Phoenix session.
/// Every member runs on the one io thread (the connection's executor).
template <class Stream>
class ws_connection
  : public live_connection,
    public std::enable_shared_from_this<ws_connection<Stream>> {
public:
  ws_connection(Stream&& stream, server_shared& shared,
                std::string client_id,
                std::shared_ptr<const boost::json::object> claims)
    : ws_(std::move(stream)),
      exec_(ws_.get_executor()),
      shared_(shared),
      client_id_(std::move(client_id)),
      claims_(std::move(claims)) {
  }

  void start(http::request<http::string_body> req) {
    beast::get_lowest_layer(ws_).expires_never(); // the websocket times out
    websocket::stream_base::timeout t;
    t.handshake_timeout = shared_.opts.handshake_timeout;
    t.idle_timeout = shared_.opts.idle_timeout.count() > 0
                       ? beast::websocket::stream_base::duration{
                         shared_.opts.idle_timeout}
                       : websocket::stream_base::none();
    // No pings of our own: a pong would count as activity, and Phoenix's
    // timeout is about frames the client sends.
    t.keep_alive_pings = false;
    ws_.set_option(t);
    // The frame limit is ours (see do_read), not Beast's.
    ws_.read_message_max(0);
    // phoenix.js offers "phoenix" when it sends an auth token; the answer
    // must then name it, or the client aborts the handshake.
    bool phoenix_proto = offers_subprotocol(
      sv(req[http::field::sec_websocket_protocol]), "phoenix");
    ws_.set_option(websocket::stream_base::decorator(
      [phoenix_proto](websocket::response_type& res) {
        res.set(http::field::server, "chanstate-node");
        if (phoenix_proto)
          res.set(http::field::sec_websocket_protocol, "phoenix");
      }));
    ws_.async_accept(req, beast::bind_front_handler(&ws_connection::on_accept,
                                                    this->shared_from_this()));
  }

  const net::any_io_executor& executor() const override {
    return exec_;
  }

  void shutdown() override {
    finish(transport_end::shutdown, close_cause::shutdown);
    abort_socket();
  }

  void deliver(caf::actor_addr from, outbound_frame f) override {
    if (inbox_.push({std::move(from), std::move(f), {}}))
      post_drain();
  }

  void channel_down(caf::actor_addr channel, caf::error reason) override {
    if (inbox_.push({std::move(channel), std::nullopt, std::move(reason)}))
      post_drain();
  }

private:
  void post_drain() {
    net::post(exec_, [self = this->shared_from_this()] { self->drain(); });
  }

  // On the io thread: everything the bridge handed over since the last drain.
  void drain() {
    inbox_.take(batch_);
    for (auto& x : batch_) {
      if (!session_)
        break;
      if (x.frame)
        session_->on_channel_frame(x.from, std::move(*x.frame));
      else
        session_->on_channel_down(x.from, x.reason);
    }
    batch_.clear();
  }

  void on_accept(beast::error_code ec) {
    if (ec)
      return; // the handshake failed: nothing was joined yet
    auto& c = shared_.counters;
    // Counted here, on the one io thread, so no two accepts race past it.
    if (c.connections_open.load(std::memory_order_relaxed)
        >= shared_.opts.max_connections) {
      c.connections_refused.fetch_add(1, std::memory_order_relaxed);
      log_limited(spdlog::level::warn, "connection_refused",
                  "connection refused: --max-connections reached",
                  {{"reason", "connection_limit"},
                   {"max_connections", shared_.opts.max_connections}});
      ws_.async_close({websocket::close_code::try_again_later,
                       "too many connections"},
                      [self = this->shared_from_this()](beast::error_code) {});
      return;
    }
    c.connections_open.fetch_add(1, std::memory_order_relaxed);
    c.connections_total.fetch_add(1, std::memory_order_relaxed);
    opened_ = true;
    ws_.text(true);
    std::weak_ptr<bridge_sink> sink = this->shared_from_this();
    session_.emplace(shared_.sys, shared_.env, client_id_,
                     shared_.track(spawn_bridge(shared_.sys, std::move(sink))),
                     shared_.opts.max_channels, shared_.joins,
                     shared_.counters,
                     [this](std::string text) { enqueue(std::move(text)); },
                     claims_);
    shared_.add_live(this->weak_from_this());
    do_read();
  }

  // Reads a message piece by piece so that we, not Beast, enforce the
  // size limit. Beast's own limit (read_message_max) fails the connection
  // and its TCP teardown in Boost 1.81 stops draining after one read, so a
  // client still uploading the oversized message gets a reset instead of
  // close 1009. async_close instead drains the rest of the message and
  // waits for the client's close, bounded by the handshake timeout.
  void do_read() {
    auto room = shared_.opts.max_frame_bytes + 1 - buffer_.size();
    ws_.async_read_some(buffer_, std::min(room, read_chunk_bytes),
                        beast::bind_front_handler(&ws_connection::on_read,
                                                  this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t n) {
    if (ec) {
      on_read_error(ec);
      return;
    }
    shared_.counters.bytes_in.fetch_add(n, std::memory_order_relaxed);
    if (closing_)
      return;
    if (buffer_.size() > shared_.opts.max_frame_bytes) {
      buffer_.clear();
      buffer_.shrink_to_fit();
      close_with({static_cast<std::uint16_t>(websocket::close_code::too_big),
                  "message too big"},
                 close_cause::too_big);
      return;
    }
    if (!ws_.is_message_done()) {
      do_read();
      return;
    }
    if (!ws_.got_text()) {
      close_with({static_cast<std::uint16_t>(websocket::close_code::unknown_data),
                  "binary frames are not supported"},
                 close_cause::binary_frame);
      return;
    }
    auto data = buffer_.data();
    auto result = session_->on_text(
      {static_cast<const char*>(data.data()), data.size()});
    buffer_.consume(buffer_.size());
    if (result) {
      close_with(std::move(*result), close_cause::bad_frame);
      return;
    }
    if (!closing_)
      do_read();
  }

  void on_read_error(beast::error_code ec) {
    if (ec == websocket::error::closed) {
      // phoenix.js closes with this reason when we missed its heartbeat:
      // it reconnects and rejoins, so its channels keep their state.
      if (ws_.reason().reason == "heartbeat timeout")
        finish(transport_end::lost, close_cause::client_heartbeat);
      else
        finish(transport_end::clean, close_cause::client_close);
    } else if (ec == beast::error::timeout) {
      finish(transport_end::lost, close_cause::idle_timeout);
    } else if (ec == websocket::error::bad_frame_payload) {
      // Text that is not UTF-8: Beast has already sent close 1007.
      finish(transport_end::lost, close_cause::bad_frame);
    } else {
      finish(transport_end::lost, close_cause::connection_lost);
    }
  }

  // Queues one text frame; called by the session, on the io thread.
  void enqueue(std::string text) {
    if (closing_) {
      shared_.counters.outbound_frames_dropped.fetch_add(
        1, std::memory_order_relaxed);
      return;
    }
    if (!queue_.empty()
        && queued_bytes_ + text.size() > shared_.opts.max_outbound_bytes) {
      // Not from inside the session's call: it may be mid-dispatch.
      closing_ = true;
      shared_.counters.outbound_frames_dropped.fetch_add(
        1, std::memory_order_relaxed);
      net::post(exec_, [self = this->shared_from_this()] {
        self->finish(transport_end::lost, close_cause::backpressure);
        self->abort_socket();
      });
      return;
    }
    queued_bytes_ += text.size();
    queue_.push_back(std::move(text));
    if (!writing_)
      do_write();
  }

  void do_write() {
    writing_ = true;
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&ws_connection::on_write,
                                              this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t n) {
    writing_ = false;
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    if (ec) {
      finish(transport_end::lost, close_cause::connection_lost);
      abort_socket();
      return;
    }
    shared_.counters.bytes_out.fetch_add(n, std::memory_order_relaxed);
    if (!queue_.empty() && !closing_)
      do_write();
  }

  // A close we start because of what the client sent: the channels keep
  // their state (the client will reconnect), the client learns why.
  void close_with(protocol_close c, close_cause cause) {
    finish(transport_end::lost, cause);
    ws_.async_close(websocket::close_reason{
                      static_cast<websocket::close_code>(c.code), c.reason},
                    [self = this->shared_from_this()](beast::error_code) {});
  }

  void abort_socket() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  // Ends the session exactly once; the first cause is the one counted.
  void finish(transport_end how, close_cause cause) {
    closing_ = true;
    if (finished_ || !opened_)
      return;
    finished_ = true;
    shared_.counters.count_close(cause);
    shared_.counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
    if (session_)
      session_->end(how);
  }

  static constexpr std::size_t read_chunk_bytes = 64 * 1024;

  websocket::stream<Stream> ws_;
  net::any_io_executor exec_;
  server_shared& shared_;
  std::string client_id_;
  std::shared_ptr<const boost::json::object> claims_;
  beast::flat_buffer buffer_;
  std::optional<phoenix_session> session_;
  connection_inbox inbox_;
  // drain()'s batch, kept for its capacity
  std::vector<connection_inbox::item> batch_;
  std::deque<std::string> queue_; // front() is being written
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool opened_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

template <class Stream>
void start_websocket(Stream&& stream, server_shared& shared,
                     std::string client_id,
                     std::shared_ptr<const boost::json::object> claims,
                     http::request<http::string_body> req) {
  std::make_shared<ws_connection<Stream>>(std::move(stream), shared,
                                          std::move(client_id),
                                          std::move(claims))
    ->start(std::move(req));
}

} // namespace chanstate::ws_detail
