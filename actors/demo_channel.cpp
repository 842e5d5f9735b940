// The demo channel: a list of integers that must survive crashes.
#include <chanstate/actors/demo_channel.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
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
// every `add` copy the whole list: O(n) per event. Instead the list is split:
//
//   "ns"    the newest elements, fewer than `chunk` (the only value an add
//           copies);
//   "ns.<i>" the i-th full chunk of `chunk` older elements, never changed
//           again, so every commit shares it by pointer (and a journal
//           writes only what changed: O(chunk) per add).
//
// ns = ns.0 ++ ns.1 ++ ... ++ ns. A state with only "ns" (fewer than `chunk`
// elements, or saved by an older build) reads the same way. This is the
// channel author's choice of representation; the framework's commit path
// knows nothing about it.
constexpr std::size_t chunk = 64;
constexpr std::string_view tail_key = "ns";
constexpr std::string_view chunk_prefix = "ns.";

// The full chunks, in order: the assigns are sorted by key, so the "ns."
// keys are one contiguous range, ordered by name, not by number.
std::vector<const boost::json::array*> full_chunks(const socket& s) {
  const auto& xs = s.assigns().items();
  auto first = std::lower_bound(
    xs.begin(), xs.end(), chunk_prefix,
    [](const snapshot::entry& e, std::string_view k) { return e.first < k; });
  std::vector<const boost::json::array*> out;
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
    out[idx] = &i->second->get_array();
  }
  return out;
}

boost::json::array current_ns(const socket& s) {
  auto chunks = full_chunks(s);
  const boost::json::array* tail = nullptr;
  if (auto v = s.get(tail_key); v && v->is_array())
    tail = &v->get_array();
  if (chunks.empty())
    return tail ? *tail : boost::json::array{};
  std::size_t n = tail ? tail->size() : 0;
  for (auto* c : chunks)
    n += c ? c->size() : 0;
  boost::json::array out;
  out.reserve(n);
  for (auto* c : chunks)
    if (c)
      out.insert(out.end(), c->begin(), c->end());
  if (tail)
    out.insert(out.end(), tail->begin(), tail->end());
  return out;
}

// O(chunk): copies only the tail; a full tail becomes the next chunk as is.
void append(socket& s, const boost::json::value& n) {
  boost::json::array tail;
  if (auto v = s.get(tail_key); v && v->is_array())
    tail = v->get_array();
  if (tail.size() >= chunk) {
    std::string key{chunk_prefix};
    key += std::to_string(full_chunks(s).size());
    s.assign(std::move(key), std::move(tail));
    tail = boost::json::array{};
  }
  tail.reserve(tail.size() + 1);
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
  if (event == "add") {
    auto n = payload.if_contains("n");
    // JSON numbers that are integers: Boost.JSON parses them as int64, or
    // uint64 when they do not fit int64.
    if (!n || !(n->is_int64() || n->is_uint64()))
      return handle_result::with_reply(error_reply(
        {{"reason", "add needs an integer field n"}}));
    append(s, *n);
    return handle_result::noreply();
  }
  if (event == "get")
    return handle_result::with_reply(ok({{"ns", current_ns(s)}}));
  if (event == "oopsy")
    throw std::runtime_error("oopsy: the demo channel crashes on purpose");
  if (event == "abort") {
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
  if (event == "ping") {
    s.push("pong", payload);
    return handle_result::with_reply(ok());
  }
  if (event == "shout") {
    s.broadcast("shout", payload);
    return handle_result::with_reply(ok());
  }
  if (event == "bye")
    return handle_result::stop_with(caf::none, ok());
  return handle_result::with_reply(
    error_reply({{"reason", "unknown event"}, {"event", event}}));
}

channel_factory demo_channel_factory(bool allow_fatal) {
  return [allow_fatal] { return std::make_unique<demo_channel>(allow_fatal); };
}

} // namespace chanstate
