// Internal to the endpoint (not installed): what the server and its
// connections share, and the two entry points into the connection code.
// The connection templates are compiled once per stream, in translation
// units of their own (ws_server_plain.cpp for ws://; ws_server_tls.cpp and
// ws_server_tls_ws.cpp for wss://), so that no single file instantiates
// Beast for both; this header includes no Beast.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/actor_system.hpp>

#include <chanstate/actors/frames.hpp>
#include <chanstate/endpoint/bridge.hpp>
#include <chanstate/endpoint/join_limiter.hpp>
#include <chanstate/endpoint/readiness.hpp>
#include <chanstate/endpoint/transport_counters.hpp>
#include <chanstate/endpoint/ws_server.hpp>

namespace chanstate::ws_detail {

/// What a connection's bridge hands over from the actor world: channel
/// frames and channel downs, in the order the bridge saw them. The bridge
/// pushes on whatever thread a channel runs; the connection drains on its
/// own. One post per batch, not one per frame: while the connection's
/// thread is busy, frames for it only queue here.
class connection_inbox {
public:
  struct item {
    caf::actor_addr from;
    std::optional<outbound_frame> frame; // none: `from` went down
    caf::error reason;
  };

  /// Queues `x`; true if the inbox was empty (the caller schedules a drain).
  bool push(item x) {
    std::lock_guard<std::mutex> guard{mtx_};
    items_.push_back(std::move(x));
    return items_.size() == 1;
  }

  /// Moves every queued item into `out` (cleared first; its capacity is
  /// reused, so a steady connection allocates nothing here).
  void take(std::vector<item>& out) {
    out.clear();
    std::lock_guard<std::mutex> guard{mtx_};
    out.swap(items_);
  }

private:
  std::mutex mtx_;
  std::vector<item> items_;
};

/// What shutdown needs of an upgraded connection, whatever its stream.
class live_connection : public bridge_sink {
public:
  virtual const boost::asio::any_io_executor& executor() const = 0;

  /// The node stops: channels end with user_shutdown, the socket closes.
  virtual void shutdown() = 0;
};

/// Counts the actors that may post into the io_context, so that the server
/// is destroyed only after the last one ended (bridges hold no strong ref).
struct actor_tracker {
  std::mutex mtx;
  std::condition_variable cv;
  std::size_t live = 0;

  void done() {
    std::lock_guard<std::mutex> guard{mtx};
    if (--live == 0)
      cv.notify_all();
  }
};

/// What every connection of one server shares.
struct server_shared {
  server_shared(caf::actor_system& sys, channel_env env, endpoint_options opts,
                std::shared_ptr<const readiness> ready)
    : sys(sys),
      env(std::move(env)),
      opts(std::move(opts)),
      ready(std::move(ready)) {
  }

  caf::actor_system& sys;
  channel_env env;
  endpoint_options opts;
  std::shared_ptr<const readiness> ready;
  transport_counters counters;
  join_limiter joins{opts.join_rate};
  std::mutex live_mtx;
  std::vector<std::weak_ptr<live_connection>> live; // for shutdown
  // Ended connections are pruned once the list doubled since the last
  // prune: amortized O(1) per connection (a scan per connection made n
  // connections cost O(n²): 3.9% of the node's CPU in a 10 000-client
  // burst).
  std::size_t prune_at = 64;
  /// Set with --tls-cert/--tls-key: every connection starts with a TLS
  /// handshake.
  std::optional<boost::asio::ssl::context> tls;
  std::shared_ptr<actor_tracker> tracker = std::make_shared<actor_tracker>();

  caf::actor track(caf::actor a) {
    {
      std::lock_guard<std::mutex> guard{tracker->mtx};
      ++tracker->live;
    }
    // Runs at once if `a` is already gone.
    a->attach_functor([t = tracker] { t->done(); });
    return a;
  }

  void add_live(std::weak_ptr<live_connection> c) {
    std::lock_guard<std::mutex> guard{live_mtx};
    if (live.size() >= prune_at) {
      live.erase(std::remove_if(live.begin(), live.end(),
                                [](const auto& w) { return w.expired(); }),
                 live.end());
      prune_at = std::max<std::size_t>(64, 2 * live.size());
    }
    live.push_back(std::move(c));
  }
};

/// Serves one accepted TCP connection over plain TCP (ws_server_plain.cpp).
void start_plain_session(boost::asio::ip::tcp::socket&& s,
                         server_shared& shared);

/// Serves one accepted TCP connection over TLS; `shared.tls` must be set
/// (ws_server_tls.cpp, its WebSocket side in ws_server_tls_ws.cpp).
void start_tls_session(boost::asio::ip::tcp::socket&& s,
                       server_shared& shared);

} // namespace chanstate::ws_detail
