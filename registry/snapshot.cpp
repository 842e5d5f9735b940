// Immutable assigns: sorted (key, shared value) pairs.
#include <chanstate/registry/snapshot.hpp>

#include <algorithm>


namespace chanstate {

namespace {

const snapshot::entries empty_entries;

// What an empty snapshot counts: the map itself, no entries.
constexpr std::size_t empty_bytes = sizeof(snapshot::entries);

template <class Entries>
auto lower(Entries& xs, std::string_view key) {
  return std::lower_bound(xs.begin(), xs.end(), key,
                          [](const snapshot::entry& e, std::string_view k) {
                            return e.first < k;
                          });
}

} // namespace

std::size_t snapshot::entry_bytes(std::string_view key,
                                  const boost::json::value& value) {
  return sizeof(entry) + key.size() + json_byte_size(value);
}

snapshot snapshot::from_entries(entries xs) {
  std::sort(xs.begin(), xs.end(),
            [](const entry& a, const entry& b) { return a.first < b.first; });
  auto b = std::make_shared<body>();
  b->bytes = empty_bytes;
  for (auto& e : xs) {
    e.bytes = entry_bytes(e.first, *e.second);
    b->bytes += e.bytes;
  }
  b->items = std::move(xs);
  return snapshot{std::move(b)};
}

snapshot snapshot::from_object(const boost::json::object& obj) {
  entries xs;
  xs.reserve(obj.size());
  for (const auto& kv : obj)
    xs.push_back(
      {std::string{kv.key()},
       std::make_shared<const boost::json::value>(kv.value()), 0});
  return from_entries(std::move(xs));
}

snapshot snapshot::from_object(boost::json::object&& obj) {
  entries xs;
  xs.reserve(obj.size());
  for (auto& kv : obj)
    xs.push_back({std::string{kv.key()},
                  std::make_shared<const boost::json::value>(
                    std::move(kv.value())),
                  0});
  return from_entries(std::move(xs));
}

const snapshot::entries& snapshot::items() const noexcept {
  return data_ ? data_->items : empty_entries;
}

const boost::json::value* snapshot::find(std::string_view key) const noexcept {
  const auto& xs = items();
  auto i = lower(xs, key);
  if (i != xs.end() && i->first == key)
    return i->second.get();
  return nullptr;
}

snapshot::value_ptr snapshot::find_ptr(std::string_view key) const {
  const auto& xs = items();
  auto i = lower(xs, key);
  if (i != xs.end() && i->first == key)
    return i->second;
  return nullptr;
}

snapshot snapshot::with(std::string key, boost::json::value value) const {
  // Sized once here, while the handler's new value is at hand; the value
  // never changes after this, so the cached size stays right.
  const auto size = entry_bytes(key, value);
  auto ptr = std::make_shared<const boost::json::value>(std::move(value));
  const auto& xs = items();
  auto b = std::make_shared<body>();
  b->bytes = byte_size() + size;
  b->items.reserve(xs.size() + 1);
  b->items = xs;
  auto i = lower(b->items, key);
  if (i != b->items.end() && i->first == key) {
    b->bytes -= i->bytes;
    i->second = std::move(ptr);
    i->bytes = size;
  } else {
    b->items.insert(i, entry{std::move(key), std::move(ptr), size});
  }
  return snapshot{std::move(b)};
}

snapshot snapshot::without(std::string_view key) const {
  const auto& xs = items();
  auto i = lower(xs, key);
  if (i == xs.end() || i->first != key)
    return *this;
  auto b = std::make_shared<body>();
  b->bytes = data_->bytes - i->bytes;
  b->items.reserve(xs.size() - 1);
  b->items.insert(b->items.end(), xs.begin(), i);
  b->items.insert(b->items.end(), i + 1, xs.end());
  return snapshot{std::move(b)};
}

boost::json::object snapshot::to_object() const {
  boost::json::object obj;
  obj.reserve(size());
  for (const auto& e : items())
    obj.emplace(e.first, *e.second);
  return obj;
}

std::size_t snapshot::byte_size() const noexcept {
  return data_ ? data_->bytes : empty_bytes;
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

} // namespace chanstate
