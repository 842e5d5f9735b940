// ws_pool: the soak and ws-hold scenarios' connections over Beast.
// One io_context run by one thread: no strands, and every callback of the
// handler runs on that thread. A slot holds at most one connection; a
// connection that is no longer its slot's (dropped, replaced) reports
// nothing more.
#include "test/bench/ws_pool.hpp"

#include <deque>
#include <memory>
#include <stdexcept>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/field.hpp>

#include "test/bench/ws_beast.hpp"
#include "test/bench/ws_url.hpp"

namespace chanstate::bench {

using namespace ws_detail;

struct ws_pool::impl {
  struct conn {
    conn(net::io_context& ioc, int slot) : ws(ioc.get_executor()), id(slot) {
    }
    ws_stream ws;
    int id;
    beast::flat_buffer buf;
    std::deque<std::string> out;
    websocket::response_type res;
    bool open = false;
    bool closing = false;
    bool ended = false;
  };
  using conn_ptr = std::shared_ptr<conn>;

  impl(const std::string& u, ws_pool_handler& h, std::chrono::milliseconds t)
    : url(parse_url(u)), handler(h), tick(t), timer(ioc) {
    tcp::resolver resolver{ioc};
    beast::error_code ec;
    endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec)
      throw std::invalid_argument("resolve " + url.host + ": "
                                  + ec.message());
  }

  ~impl() {
    timer.cancel();
    for (auto& c : slots)
      if (c)
        kill_socket(*c, false);
    slots.clear();
    // Let the aborted handlers run (they find no slot and stop) while the
    // handler object is still alive.
    ioc.restart();
    ioc.poll();
  }

  bool current(const conn& c) const {
    return !c.ended && c.id >= 0
           && static_cast<std::size_t>(c.id) < slots.size()
           && slots[static_cast<std::size_t>(c.id)].get() == &c;
  }

  static void kill_socket(conn& c, bool reset) {
    c.ended = true;
    beast::error_code ignored;
    auto& sock = beast::get_lowest_layer(c.ws).socket();
    if (reset)
      sock.set_option(net::socket_base::linger(true, 0), ignored);
    sock.close(ignored);
  }

  void end(conn& c, ws_end how) {
    if (!current(c))
      return;
    c.ended = true;
    auto keep = std::move(slots[static_cast<std::size_t>(c.id)]);
    kill_socket(c, false);
    handler.on_end(c.id, how);
  }

  void open(int id, const std::string& query) {
    if (static_cast<std::size_t>(id) >= slots.size())
      slots.resize(static_cast<std::size_t>(id) + 1);
    drop(id, false);
    auto c = std::make_shared<conn>(ioc, id);
    slots[static_cast<std::size_t>(id)] = c;
    beast::get_lowest_layer(c->ws).expires_after(std::chrono::seconds{30});
    beast::get_lowest_layer(c->ws).async_connect(
      endpoints, [this, c, query](beast::error_code ec, const tcp::endpoint&) {
        if (!current(*c))
          return;
        if (ec)
          return end(*c, {"connect: " + ec.message()});
        beast::get_lowest_layer(c->ws).socket().set_option(
          tcp::no_delay(true));
        beast::get_lowest_layer(c->ws).expires_never();
        c->ws.set_option(
          websocket::stream_base::timeout::suggested(beast::role_type::client));
        c->ws.async_handshake(c->res, url.host + ":" + url.port,
                              url.path + "?" + query,
                              [this, c](beast::error_code ec) {
                                on_handshake(c, ec);
                              });
      });
  }

  void on_handshake(const conn_ptr& c, beast::error_code ec) {
    if (!current(*c))
      return;
    if (ec == websocket::error::upgrade_declined) {
      ws_end how{"refused"};
      how.http_status = static_cast<int>(c->res.result_int());
      auto ra = c->res[beast::http::field::retry_after];
      if (!ra.empty()) {
        try {
          how.retry_after_ms = std::stoll(std::string{ra}) * 1000;
        } catch (const std::exception&) {
          how.retry_after_ms = -1;
        }
      }
      return end(*c, how);
    }
    if (ec)
      return end(*c, {"handshake: " + ec.message()});
    c->open = true;
    c->ws.text(true);
    read(c);
    handler.on_open(c->id);
  }

  void read(const conn_ptr& c) {
    c->ws.async_read(c->buf, [this, c](beast::error_code ec, std::size_t) {
      if (!current(*c))
        return;
      if (ec) {
        ws_end how;
        if (ec == websocket::error::closed) {
          how.why = c->closing ? "closed" : "server_close";
          how.close_code = static_cast<int>(c->ws.reason().code);
        } else {
          how.why = c->closing ? "closed" : "read: " + ec.message();
        }
        return end(*c, how);
      }
      auto data = c->buf.cdata();
      handler.on_text(c->id,
                      std::string_view{static_cast<const char*>(data.data()),
                                       data.size()});
      c->buf.consume(c->buf.size());
      if (current(*c))
        read(c);
    });
  }

  void send(int id, std::string text) {
    auto c = find(id);
    if (!c || !c->open || c->closing)
      return;
    c->out.push_back(std::move(text));
    if (c->out.size() == 1)
      write_next(c);
  }

  void write_next(const conn_ptr& c) {
    c->ws.async_write(net::buffer(c->out.front()),
                      [this, c](beast::error_code ec, std::size_t) {
                        if (!current(*c))
                          return;
                        if (ec)
                          return end(*c, {"write: " + ec.message()});
                        c->out.pop_front();
                        if (!c->out.empty())
                          write_next(c);
                        else if (c->closing)
                          send_close(c);
                      });
  }

  void close(int id) {
    auto c = find(id);
    if (!c || c->closing)
      return;
    c->closing = true;
    if (!c->open) {
      // Still connecting: there is no WebSocket to close yet.
      return end(*c, {"closed"});
    }
    if (c->out.empty())
      send_close(c);
  }

  void send_close(const conn_ptr& c) {
    c->ws.async_close(websocket::close_code::normal,
                      [this, c](beast::error_code ec) {
                        if (!current(*c))
                          return;
                        if (ec && ec != websocket::error::closed)
                          return end(*c, {"close: " + ec.message()});
                        end(*c, {"closed"});
                      });
  }

  void drop(int id, bool reset) {
    auto c = find(id);
    if (!c)
      return;
    slots[static_cast<std::size_t>(id)].reset();
    kill_socket(*c, reset);
  }

  conn_ptr find(int id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= slots.size())
      return nullptr;
    return slots[static_cast<std::size_t>(id)];
  }

  void arm() {
    timer.expires_after(tick);
    timer.async_wait([this](beast::error_code ec) {
      if (ec || ioc.stopped())
        return;
      handler.on_tick();
      arm();
    });
  }

  net::io_context ioc{1};
  parsed_url url;
  tcp::resolver::results_type endpoints;
  ws_pool_handler& handler;
  std::chrono::milliseconds tick;
  net::steady_timer timer;
  std::vector<conn_ptr> slots;
};

ws_pool::ws_pool(const std::string& url, ws_pool_handler& handler,
                 std::chrono::milliseconds tick)
  : impl_(std::make_unique<impl>(url, handler, tick)) {
}

ws_pool::~ws_pool() = default;

void ws_pool::open(int id, const std::string& query) {
  impl_->open(id, query);
}

void ws_pool::send(int id, std::string text) {
  impl_->send(id, std::move(text));
}

void ws_pool::drop(int id, bool reset) {
  impl_->drop(id, reset);
}

void ws_pool::close(int id) {
  impl_->close(id);
}

void ws_pool::run() {
  impl_->arm();
  impl_->ioc.run();
}

void ws_pool::stop() {
  impl_->ioc.stop();
}

} // namespace chanstate::bench
