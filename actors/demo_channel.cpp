// The demo channel: a list of integers that must survive crashes.
#include <chanstate/actors/demo_channel.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

namespace chanstate {

namespace {

// How the demo keeps `ns` in its assigns (the wire never sees this; join and
// get always answer with the whole list). Assigns are immutable values that
// a commit shares by pointer, so one growing array under one key would make
// every `add` copy the whole list: O(n) per event. Instead the list is kept
// as a few arrays, oldest first, each filled by the one after it:
//
//   "ns.<i>"  the i-th frozen chunk (4096 elements from this build; 64 from
//             older ones), never changed again: every commit shares it;
//   "ns.l3"   fewer than 4096 elements, grown 512 at a time from ns.l2;
//   "ns.l2"   fewer than 512, grown 64 at a time from ns.l1;
//   "ns.l1"   fewer than 64, grown 8 at a time from ns;
//   "ns"      the newest elements, at most 8: the only value most adds
//             copy.
//
// ns = ns.0 ++ ns.1 ++ ... ++ ns.l3 ++ ns.l2 ++ ns.l1 ++ ns. An add copies
// the small "ns" and, every 8th add, moves it into the next level (a level
// of capacity c is copied once per c/8 adds): about 4 elements per level
// per add, and a map of a handful of keys for the commit to share. A state
// saved by an older build (64-element chunks and a tail of up to 63) reads
// the same way and is grown from there. This is the channel author's choice
// of representation; the framework's commit path knows nothing about it.
constexpr std::string_view tail_key = "ns";
constexpr std::string_view chunk_prefix = "ns.";
struct level {
  std::string_view key;
  std::size_t capacity; // moved up once it holds this many
};
// Newest first; the last one's overflow becomes a frozen chunk.
constexpr level levels[] = {
  {"ns", 8}, {"ns.l1", 64}, {"ns.l2", 512}, {"ns.l3", 4096}};

// The frozen chunks' entries, in order: the assigns are sorted by key, so
// the "ns." keys are one contiguous range, ordered by name, not by number
// (the level keys in it are not numbers and are skipped; so is a chunk
// that is not an array).
std::vector<const snapshot::entry*> chunk_entries(const socket& s) {
  const auto xs = s.assigns().items();
  auto first = std::lower_bound(
    xs.begin(), xs.end(), chunk_prefix,
    [](const snapshot::entry& e, std::string_view k) { return e.first < k; });
  std::vector<const snapshot::entry*> out;
  for (auto i = first; i != xs.end() && i->first.size() > chunk_prefix.size()
                       && std::string_view{i->first}.substr(
                            0, chunk_prefix.size())
                            == chunk_prefix;
       ++i) {
    std::size_t idx = 0;
    auto name = std::string_view{i->first}.substr(chunk_prefix.size());
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(),
                                     idx);
    if (ec != std::errc{} || end != name.data() + name.size()
        || !i->second->is_array())
      continue;
    if (idx >= out.size())
      out.resize(idx + 1, nullptr);
    out[idx] = &*i;
  }
  return out;
}

std::vector<const boost::json::array*> full_chunks(const socket& s) {
  std::vector<const boost::json::array*> out;
  for (auto* e : chunk_entries(s))
    out.push_back(e ? &e->second->get_array() : nullptr);
  return out;
}

const boost::json::array* array_at(const socket& s, std::string_view key) {
  if (auto v = s.get(key); v && v->is_array())
    return &v->get_array();
  return nullptr;
}

// Reads an array of int64 values as int64s: Boost.JSON then builds each
// copy inline instead of calling its generic (any kind) copy per element.
struct int64_reader {
  using iterator_category = std::forward_iterator_tag;
  using value_type = std::int64_t;
  using difference_type = std::ptrdiff_t;
  using pointer = const std::int64_t*;
  using reference = std::int64_t;

  const boost::json::value* at;

  std::int64_t operator*() const noexcept {
    return at->get_int64();
  }
  int64_reader& operator++() noexcept {
    ++at;
    return *this;
  }
  int64_reader operator++(int) noexcept {
    return {at++};
  }
  bool operator==(const int64_reader& x) const noexcept {
    return at == x.at;
  }
  bool operator!=(const int64_reader& x) const noexcept {
    return at != x.at;
  }
};

// Appends `xs` to `out` (reserved by the caller). A list of int64s, what
// the demo holds, takes the fast path; anything else is copied as is.
void append_all(boost::json::array& out, const boost::json::array& xs) {
  bool ints = std::all_of(xs.begin(), xs.end(), [](const auto& x) {
    return x.is_int64();
  });
  if (ints)
    out.insert(out.end(), int64_reader{xs.data()},
               int64_reader{xs.data() + xs.size()});
  else
    out.insert(out.end(), xs.begin(), xs.end());
}

boost::json::array current_ns(const socket& s) {
  auto chunks = full_chunks(s);
  const boost::json::array* parts[std::size(levels)];
  std::size_t n = 0;
  for (std::size_t i = 0; i < std::size(levels); ++i) {
    parts[i] = array_at(s, levels[i].key);
    n += parts[i] ? parts[i]->size() : 0;
  }
  for (auto* c : chunks)
    n += c ? c->size() : 0;
  boost::json::array out;
  out.reserve(n);
  for (auto* c : chunks)
    if (c)
      append_all(out, *c);
  for (std::size_t i = std::size(levels); i-- > 0;)
    if (parts[i])
      append_all(out, *parts[i]);
  return out;
}

// The values that make up ns, oldest first, shared with the assigns: what
// a `get` reply carries instead of a copy of the list (reply::share_list).
std::vector<snapshot::value_ptr> ns_parts(const socket& s) {
  std::vector<snapshot::value_ptr> out;
  auto chunks = chunk_entries(s);
  out.reserve(chunks.size() + std::size(levels));
  for (auto* c : chunks)
    if (c)
      out.push_back(c->second);
  for (std::size_t i = std::size(levels); i-- > 0;)
    if (auto v = s.assigns().find_ptr(levels[i].key); v && v->is_array())
      out.push_back(std::move(v));
  return out;
}

// A copy of level `i` (empty if unset) with room for `extra` more.
boost::json::array copy_level(const socket& s, std::size_t i,
                              std::size_t extra) {
  boost::json::array out;
  auto* xs = array_at(s, levels[i].key);
  out.reserve((xs ? xs->size() : 0) + extra);
  if (xs)
    append_all(out, *xs);
  return out;
}

// Amortized O(levels × 4) element copies and one map of a few keys.
void append(socket& s, const boost::json::value& n) {
  auto tail = copy_level(s, 0, 1);
  if (tail.size() >= levels[0].capacity) {
    // Carry: each full level moves, whole, to the end of the next one.
    boost::json::array carry = std::move(tail);
    tail = boost::json::array{};
    std::size_t i = 1;
    for (; i < std::size(levels); ++i) {
      auto next = copy_level(s, i, carry.size());
      append_all(next, carry);
      carry = std::move(next);
      if (carry.size() < levels[i].capacity)
        break;
      s.assign(std::string{levels[i].key}, boost::json::array{});
    }
    if (i == std::size(levels)) {
      std::string key{chunk_prefix};
      key += std::to_string(chunk_entries(s).size());
      s.assign(std::move(key), std::move(carry));
    } else {
      s.assign(std::string{levels[i].key}, std::move(carry));
    }
    tail.reserve(levels[0].capacity);
  }
  tail.push_back(n);
  s.assign(std::string{tail_key}, std::move(tail));
}

} // namespace

join_result demo_channel::join(const boost::json::object&, socket& s) {
  // A token that lists topics grants those only (exact names).
  if (auto topics = s.claims().if_contains("topics")) {
    bool allowed = false;
    if (auto list = topics->if_array())
      for (const auto& t : *list)
        allowed = allowed || (t.is_string() && t.get_string() == s.topic());
    if (!allowed)
      return join_result::refuse({{"reason", "topic not allowed"}});
  }
  boost::json::object reply{{"restored", s.restored()},
                            {"ns", current_ns(s)}};
  if (s.fallback_generation() > 0)
    reply.emplace("fallback_generation", s.fallback_generation());
  if (!s.restore_note().empty())
    reply.emplace(s.restore_note().rfind("quarantined", 0) == 0 ? "quarantined"
                                                                 : "note",
                  s.restore_note());
  return join_result::accept(std::move(reply));
}

handle_result demo_channel::handle_in(const std::string& event,
                                      const boost::json::object& payload,
                                      socket& s) {
  // As a string_view: an inline length check and memcmp per name, where
  // std::string == const char* calls out to strlen and compare.
  const std::string_view ev{event};
  if (ev == "add") {
    auto n = payload.if_contains("n");
    // JSON numbers that are integers: Boost.JSON parses them as int64, or
    // uint64 when they do not fit int64.
    if (!n || !(n->is_int64() || n->is_uint64()))
      return handle_result::with_reply(error_reply(
        {{"reason", "add needs an integer field n"}}));
    append(s, *n);
    return handle_result::noreply();
  }
  if (ev == "get") {
    // The list is shared with the assigns, not copied: O(chunks) here, and
    // written out once where the reply leaves the process.
    auto r = ok();
    r.share_list("ns", ns_parts(s));
    return handle_result::with_reply(std::move(r));
  }
  if (ev == "oopsy")
    throw std::runtime_error("oopsy: the demo channel crashes on purpose");
  if (ev == "abort") {
    if (!allow_fatal_)
      return handle_result::with_reply(error_reply(
        {{"reason", "abort is disabled; start the node with "
                    "--allow-fatal-demo"}}));
    // The whole process dies here, as a segfault or OOM kill would: only
    // the journal or a registry on another node can save the state now.
    std::abort();
  }
  // Exercise the two ways a channel reaches clients unasked (Phoenix's
  // push/3 and broadcast!/3), so transports can be tested end to end.
  if (ev == "ping") {
    s.push("pong", payload);
    return handle_result::with_reply(ok());
  }
  if (ev == "shout") {
    s.broadcast("shout", payload);
    return handle_result::with_reply(ok());
  }
  if (ev == "bye")
    return handle_result::stop_with(caf::none, ok());
  return handle_result::with_reply(
    error_reply({{"reason", "unknown event"}, {"event", event}}));
}

channel_factory demo_channel_factory(bool allow_fatal) {
  return [allow_fatal] { return std::make_unique<demo_channel>(allow_fatal); };
}

} // namespace chanstate
