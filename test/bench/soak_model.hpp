// The soak scenario's model of one client's state, and the check of what
// the node served against it: no I/O, so it can be tested on its own.
#pragma once

#include <cstdint>
#include <vector>

#include <boost/json/array.hpp>

namespace chanstate::bench {

/// The value a client adds as its `seq`-th: unique to the client, so any
/// value seen by another client names its owner.
std::int64_t soak_value(int client, std::int64_t seq);

/// The client a soak value belongs to, -1 if it is no soak value.
int soak_owner(std::int64_t value);

/// What a join reply or a `get` must show, given the client's model.
enum class soak_expect {
  /// Every acknowledged and every sent add, in order (the channel is alive,
  /// or it crashed after handling all of them).
  exact,
  /// The acknowledged adds plus any prefix of the sent ones (the transport
  /// dropped: frames in flight may never have reached the node; or the
  /// node was killed: only what a reply showed is acknowledged, so a crash
  /// or an add it had not confirmed may be gone with it).
  prefix,
  /// Nothing: a clean leave discarded the state.
  fresh,
  /// Not judged: the model cannot know (a leave whose transport died).
  unknown,
};

/// What one check found. Values are counted, checks are flagged.
struct soak_verdict {
  /// Acknowledged values missing where the state is not simply older
  /// (e.g. the whole state gone).
  std::int64_t lost = 0;
  /// 1 if the state is a proper, non-empty prefix of the acknowledged one
  /// (an older commit), or any state came back after a clean leave.
  std::int64_t stale = 0;
  /// Values that belong to another client.
  std::int64_t leaked = 0;
  /// 1 if the client's own values were never sent, repeated, reordered or
  /// not integers.
  std::int64_t mismatched = 0;

  bool ok() const {
    return lost == 0 && stale == 0 && leaked == 0 && mismatched == 0;
  }
};

/// Checks `observed` (the `ns` a join reply or `get` returned) for client
/// `client` whose node-acknowledged values are `acked` and whose later adds
/// are `sent`. `own` receives the client's own values in `observed`: the
/// model continues from them, so one fault is reported once.
soak_verdict soak_check(int client, const boost::json::array& observed,
                        const std::vector<std::int64_t>& acked,
                        const std::vector<std::int64_t>& sent,
                        soak_expect how, std::vector<std::int64_t>& own);

} // namespace chanstate::bench
