// Holds a channel's outbound frames until the commits before them are durable.
//
//   commit ──▶ seq+1
//   send(frame) ──nothing queued, last commit durable──▶ out now
//        └──otherwise──▶ queued behind it (tagged seq), ask(seq) once per seq
//   durable(s) ──▶ every queued frame tagged ≤ s goes out, in order
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chanstate/actors/frames.hpp>

namespace chanstate {

/// One per channel: the outbound path of every frame the channel sends its
/// client (replies, pushes, relayed broadcasts, the join reply). A frame
/// that follows a commit leaves only once that commit is durable (written to
/// the journal, or acknowledged by a registry on another node), so a value a
/// client saw acknowledged survives the death of the process. The channel
/// never waits: it keeps handling events while frames are held, and order
/// per channel is kept (a frame never overtakes a held one).
class outbound_gate {
public:
  /// Called with a commit's seq when a frame must wait for it; the answer
  /// comes back later as durable(seq) on the channel's own thread. Empty
  /// when acknowledgements arrive unasked (a remote registry acks each
  /// commit).
  using ask_fn = std::function<void(std::uint64_t seq)>;

  /// A gate that never holds (no journal, or --ack=async): frames go out at
  /// once, as before.
  outbound_gate() = default;

  /// Where frames go; `self` is the channel, so the transport sees the
  /// channel as the sender.
  void bind(caf::event_based_actor* self, caf::actor transport) {
    self_ = self;
    transport_ = std::move(transport);
  }

  /// The channel (bind's).
  caf::event_based_actor* self() const noexcept {
    return self_;
  }

  /// The channel's transport (bind's).
  const caf::actor& transport() const noexcept {
    return transport_;
  }

  /// Frames after a commit wait until it is durable; `ask` (may be empty)
  /// requests durability lazily, only when a frame waits.
  void hold_until_durable(ask_fn ask) {
    if (!hold_)
      hold_ = std::make_unique<holding>();
    hold_->ask = std::move(ask);
  }

  bool holds() const noexcept {
    return hold_ != nullptr;
  }

  /// A commit was published; returns its seq (1, 2, ...).
  std::uint64_t committed() noexcept {
    return ++seq_;
  }

  /// Sends `f` now, or queues it behind the commits it follows.
  void send(outbound_frame f);

  /// Every commit up to `seq` is durable: releases the frames waiting on it.
  void durable(std::uint64_t seq);

  /// A normal end (leave, stop, clean shutdown): the state is dropped
  /// anyway, so the held frames go out now, in order.
  void release_all();

  /// Frames held right now.
  std::size_t held() const noexcept {
    return hold_ ? hold_->queue.size() : 0;
  }

  /// The last commit's seq and the last one known durable.
  std::uint64_t seq() const noexcept {
    return seq_;
  }

  std::uint64_t watermark() const noexcept {
    return durable_;
  }

private:
  struct waiting {
    std::uint64_t seq;
    outbound_frame frame;
  };

  // What only a holding gate needs, allocated by hold_until_durable: a
  // gate that never holds (no journal, --ack=async) is 40 bytes of the
  // channel's state instead of 104.
  struct holding {
    ask_fn ask;
    std::uint64_t asked = 0; // last commit durability was asked for
    // A list, not a deque: libstdc++'s empty deque allocates ~576 bytes,
    // and few channels ever hold a frame.
    std::list<waiting> queue;
  };

  void emit(outbound_frame f);

  caf::event_based_actor* self_ = nullptr;
  caf::actor transport_;
  std::uint64_t seq_ = 0;     // last commit
  std::uint64_t durable_ = 0; // last commit known durable
  std::unique_ptr<holding> hold_; // null: frames never wait
};

} // namespace chanstate
