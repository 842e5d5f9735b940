// Many WebSocket connections on one thread (the Beast side of the soak and
// ws-hold scenarios). Plain types only: ws_pool.cpp is the one TU of it
// that includes Beast.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace chanstate::bench {

/// How a ws_pool connection ended.
struct ws_end {
  /// "closed" (our close completed), "refused" (upgrade declined),
  /// "server_close" (a close frame from the server), or the error text.
  std::string why;
  /// The server's close code, 0 without a close frame.
  int close_code = 0;
  /// The HTTP status of a declined upgrade, 0 otherwise.
  int http_status = 0;
  /// Retry-After of a declined upgrade in ms, -1 if none.
  std::int64_t retry_after_ms = -1;
};

/// The callbacks of a ws_pool; every one runs on the thread in run().
class ws_pool_handler {
public:
  virtual ~ws_pool_handler() = default;
  /// Connection `id` finished its upgrade.
  virtual void on_open(int id) = 0;
  /// One text frame from connection `id`.
  virtual void on_text(int id, std::string_view text) = 0;
  /// Connection `id` ended (not called after drop()).
  virtual void on_end(int id, const ws_end& how) = 0;
  /// Every tick interval.
  virtual void on_tick() = 0;
};

/// Many WebSocket connections on one thread, addressed by a slot id; the
/// Beast side of the soak and ws-hold scenarios (soak_driver and ws_hold
/// hold the logic).
class ws_pool {
public:
  /// Throws std::invalid_argument for a bad URL or a host that does not
  /// resolve.
  ws_pool(const std::string& url, ws_pool_handler& handler,
          std::chrono::milliseconds tick);
  ~ws_pool();
  ws_pool(const ws_pool&) = delete;
  ws_pool& operator=(const ws_pool&) = delete;

  /// Connects slot `id` with `query` appended to the endpoint path,
  /// replacing whatever the slot held (silently, as drop() does).
  void open(int id, const std::string& query);
  /// Queues one text frame on slot `id`; ignored when the slot is empty.
  void send(int id, std::string text);
  /// Ends slot `id` without a close frame: TCP FIN, or RST if `reset`.
  /// No on_end follows.
  void drop(int id, bool reset);
  /// Sends a close frame on slot `id`; on_end("closed") follows.
  void close(int id);
  /// Runs the callbacks until stop().
  void run();
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace chanstate::bench
