// Immutable assigns: sorted (key, shared value) pairs.
#include <chanstate/registry/snapshot.hpp>

#include <algorithm>


namespace chanstate {

namespace {

// What an empty snapshot counts: the map itself, no entries. Kept as the
// size of the vector the map used to be, so assigns limits mean what they
// meant.
constexpr std::size_t empty_bytes = sizeof(snapshot::entries);

// std::string's order (bytes as unsigned char, then length), inline:
// assign names are short, and a call to memcmp per step of the search
// cost more than the comparison itself.
bool key_less(std::string_view a, std::string_view b) noexcept {
  auto n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i])
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  return a.size() < b.size();
}

// Equal keys, inline (see key_less).
bool same_key(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i])
      return false;
  return true;
}

const snapshot::entry* lower(snapshot::entry_range xs, std::string_view key) {
  return std::lower_bound(xs.begin(), xs.end(), key,
                          [](const snapshot::entry& e, std::string_view k) {
                            return key_less(e.first, k);
                          });
}

} // namespace

snapshot::body* snapshot::body::make(std::size_t capacity) {
  void* mem = ::operator new(sizeof(body) + capacity * sizeof(entry));
  return ::new (mem) body;
}

void snapshot::body::destroy(body* b) noexcept {
  auto* xs = b->first();
  for (auto i = b->size; i-- > 0;)
    xs[i].~entry();
  b->~body();
  ::operator delete(static_cast<void*>(b));
}

namespace {

// Fills a fresh body; if an entry's construction throws, the body (and
// the entries built so far) are freed by the body_ptr that owns it.
struct filler {
  snapshot::entry* at;
  std::size_t& size;

  void copy(const snapshot::entry& e) {
    ::new (static_cast<void*>(at)) snapshot::entry(e);
    ++at;
    ++size;
  }
  void copy(const snapshot::entry* first, const snapshot::entry* last) {
    for (; first != last; ++first)
      copy(*first);
  }
  void move(snapshot::entry&& e) {
    ::new (static_cast<void*>(at)) snapshot::entry(std::move(e));
    ++at;
    ++size;
  }
};

} // namespace

std::size_t snapshot::entry_bytes(std::string_view key,
                                  const boost::json::value& value) {
  return sizeof(entry) + key.size() + json_byte_size(value);
}

snapshot snapshot::from_entries(entries xs) {
  std::sort(xs.begin(), xs.end(),
            [](const entry& a, const entry& b) { return a.first < b.first; });
  body_ptr b{body::make(xs.size())};
  b->bytes = empty_bytes;
  filler out{b->first(), b->size};
  for (auto& e : xs) {
    e.bytes = entry_bytes(e.first, *e.second);
    b->bytes += e.bytes;
    out.move(std::move(e));
  }
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

const boost::json::value* snapshot::find(std::string_view key) const noexcept {
  auto xs = items();
  auto i = lower(xs, key);
  if (i != xs.end() && i->first == key)
    return i->second.get();
  return nullptr;
}

snapshot::value_ptr snapshot::find_ptr(std::string_view key) const {
  auto xs = items();
  auto i = lower(xs, key);
  if (i != xs.end() && i->first == key)
    return i->second;
  return nullptr;
}

snapshot snapshot::with(std::string key, boost::json::value value) const {
  auto i = lower(items(), key); // before `key` moves into the call
  return with_at(i, std::move(key), std::move(value));
}

snapshot snapshot::with_at(const entry* i, std::string key,
                           boost::json::value value) const {
  // Sized once here, while the handler's new value is at hand; the value
  // never changes after this, so the cached size stays right.
  const auto size = entry_bytes(key, value);
  auto ptr = std::make_shared<const boost::json::value>(std::move(value));
  auto xs = items();
  bool replace = i != xs.end() && i->first == key;
  body_ptr b{body::make(xs.size() + (replace ? 0 : 1))};
  b->bytes = byte_size() + size - (replace ? i->bytes : 0);
  filler out{b->first(), b->size};
  out.copy(xs.begin(), i);
  out.move(entry{std::move(key), std::move(ptr), size});
  out.copy(replace ? i + 1 : i, xs.end());
  return snapshot{std::move(b)};
}

void snapshot::set(std::string key, boost::json::value value) {
  auto xs = items();
  auto i = lower(xs, key);
  if (i != xs.end() && i->first == key && data_.unique()) {
    // Nobody else holds this map (the handler's own, since its first
    // assign): replace the value where it is.
    auto* slot = data_->first() + (i - xs.begin());
    const auto size = entry_bytes(key, value);
    slot->second = std::make_shared<const boost::json::value>(std::move(value));
    data_->bytes = data_->bytes - slot->bytes + size;
    slot->bytes = size;
    return;
  }
  *this = with_at(i, std::move(key), std::move(value));
}

void snapshot::set(std::string key, boost::json::value value,
                   snapshot spare) {
  auto xs = items();
  auto i = lower(xs, key);
  if (i == xs.end() || i->first != key || data_.unique()
      || !spare.data_.unique() || spare.data_->size != xs.size()) {
    set(std::move(key), std::move(value));
    return;
  }
  // One pass: the keys must match place by place; the values that differ
  // (what the last commits changed) change hands, and the slot about to
  // be set is left to be filled below. A mismatch drops the spare, values
  // filled so far included. A value is made for one key and only ever
  // copied with it, so the same value means the same key: only the places
  // whose values differ compare keys (a trimmed spare's unchanged places
  // are most of them).
  const auto at = static_cast<std::size_t>(i - xs.begin());
  auto* ys = spare.data_->first();
  for (std::size_t k = 0; k < xs.size(); ++k) {
    auto& y = ys[k];
    const auto& x = xs[k];
    if (y.second != x.second) {
      if (!same_key(y.first, x.first)) {
        *this = with_at(i, std::move(key), std::move(value));
        return;
      }
      if (k != at)
        y.second = x.second;
    }
    y.bytes = x.bytes;
  }
  spare.data_->bytes = data_->bytes;
  data_.swap(spare.data_); // the map is now this snapshot's alone
  auto* slot = data_->first() + at;
  const auto size = entry_bytes(key, value);
  slot->second = std::make_shared<const boost::json::value>(std::move(value));
  data_->bytes = data_->bytes - slot->bytes + size;
  slot->bytes = size;
}

bool snapshot::trim_spare(snapshot& spare, const snapshot& like) noexcept {
  if (!spare.data_.unique() || !like.data_
      || spare.data_->size != like.data_->size) {
    spare = snapshot{};
    return false;
  }
  auto* ys = spare.data_->first();
  const auto* xs = like.data_->first();
  for (std::size_t k = 0; k < like.data_->size; ++k)
    if (ys[k].second != xs[k].second)
      ys[k].second.reset();
  return true;
}

snapshot snapshot::without(std::string_view key) const {
  auto xs = items();
  auto i = lower(xs, key);
  if (i == xs.end() || i->first != key)
    return *this;
  body_ptr b{body::make(xs.size() - 1)};
  b->bytes = data_->bytes - i->bytes;
  filler out{b->first(), b->size};
  out.copy(xs.begin(), i);
  out.copy(i + 1, xs.end());
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
      // Scalars (what long lists mostly hold) are counted without a call.
      for (const auto& x : v.get_array()) {
        auto k = x.kind();
        if (k == boost::json::kind::string || k == boost::json::kind::array
            || k == boost::json::kind::object)
          n += json_byte_size(x);
        else
          n += sizeof(boost::json::value);
      }
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
