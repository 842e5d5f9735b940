// Immutable assigns: sorted (key, shared value) pairs.
#include "registry/snapshot.hpp"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace chanstate {

namespace {

const snapshot::entries empty_entries;

template <class Entries>
auto lower(Entries& xs, std::string_view key) {
  return std::lower_bound(xs.begin(), xs.end(), key,
                          [](const snapshot::entry& e, std::string_view k) {
                            return e.first < k;
                          });
}

} // namespace

snapshot snapshot::from_object(const boost::json::object& obj) {
  entries xs;
  xs.reserve(obj.size());
  for (const auto& kv : obj)
    xs.emplace_back(std::string{kv.key()},
                    std::make_shared<const boost::json::value>(kv.value()));
  std::sort(xs.begin(), xs.end(),
            [](const entry& a, const entry& b) { return a.first < b.first; });
  return snapshot{std::make_shared<const entries>(std::move(xs))};
}

snapshot snapshot::from_object(boost::json::object&& obj) {
  entries xs;
  xs.reserve(obj.size());
  for (auto& kv : obj)
    xs.emplace_back(std::string{kv.key()},
                    std::make_shared<const boost::json::value>(
                      std::move(kv.value())));
  std::sort(xs.begin(), xs.end(),
            [](const entry& a, const entry& b) { return a.first < b.first; });
  return snapshot{std::make_shared<const entries>(std::move(xs))};
}

const snapshot::entries& snapshot::items() const noexcept {
  return data_ ? *data_ : empty_entries;
}

const boost::json::value* snapshot::find(std::string_view key) const noexcept {
  const auto& xs = items();
  auto i = lower(xs, key);
  if (i != xs.end() && i->first == key)
    return i->second.get();
  return nullptr;
}

snapshot snapshot::with(std::string key, boost::json::value value) const {
  auto ptr = std::make_shared<const boost::json::value>(std::move(value));
  entries xs = items();
  auto i = lower(xs, key);
  if (i != xs.end() && i->first == key)
    i->second = std::move(ptr);
  else
    xs.emplace(i, std::move(key), std::move(ptr));
  return snapshot{std::make_shared<const entries>(std::move(xs))};
}

snapshot snapshot::without(std::string_view key) const {
  const auto& cur = items();
  auto i = lower(cur, key);
  if (i == cur.end() || i->first != key)
    return *this;
  entries xs;
  xs.reserve(cur.size() - 1);
  for (const auto& e : cur)
    if (e.first != key)
      xs.push_back(e);
  return snapshot{std::make_shared<const entries>(std::move(xs))};
}

boost::json::object snapshot::to_object() const {
  boost::json::object obj;
  obj.reserve(size());
  for (const auto& [k, v] : items())
    obj.emplace(k, *v);
  return obj;
}

std::size_t snapshot::byte_size() const {
  std::size_t n = sizeof(entries) + items().capacity() * sizeof(entry);
  for (const auto& [k, v] : items())
    n += k.capacity() + json_byte_size(*v);
  return n;
}

std::size_t json_byte_size(const boost::json::value& v) {
  std::size_t n = sizeof(boost::json::value);
  switch (v.kind()) {
    case boost::json::kind::string:
      n += v.get_string().capacity();
      break;
    case boost::json::kind::array:
      for (const auto& x : v.get_array())
        n += json_byte_size(x);
      break;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object())
        n += kv.key().size() + json_byte_size(kv.value());
      break;
    default:
      break;
  }
  return n;
}

namespace {

void append_object(std::string& out, const snapshot& s) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : s.items()) {
    if (!first)
      out += ',';
    first = false;
    out += boost::json::serialize(boost::json::string_view{k});
    out += ':';
    out += boost::json::serialize(*v);
  }
  out += '}';
}

} // namespace

std::string pack_snapshots(const snapshot& first,
                           const std::vector<snapshot>& rest) {
  std::string out;
  out += '[';
  append_object(out, first);
  for (const auto& s : rest) {
    out += ',';
    append_object(out, s);
  }
  out += ']';
  out.shrink_to_fit();
  return out;
}

std::vector<snapshot> unpack_snapshots(std::string_view text) {
  std::vector<snapshot> out;
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array())
    return out;
  auto& xs = v.get_array();
  out.reserve(xs.size());
  for (auto& x : xs)
    if (x.is_object())
      out.push_back(snapshot::from_object(std::move(x.get_object())));
  return out;
}

} // namespace chanstate
