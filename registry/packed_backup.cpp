// The packed form of a cold backup: a small tagged binary encoding of JSON.
#include <chanstate/registry/packed_backup.hpp>

#include <algorithm>
#include <cstring>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

namespace chanstate {

namespace {

// Layout: varint(generations), then per generation varint(entries) and per
// entry varint(key size), key bytes, value. A value starts with a tag.
enum tag : std::uint8_t {
  null_tag = 0,
  false_tag = 1,
  true_tag = 2,
  int_tag = 3,    // zigzag varint
  uint_tag = 4,   // varint
  double_tag = 5, // 8 bytes, as stored in memory
  string_tag = 6, // varint(size), bytes
  array_tag = 7,  // varint(count), values
  object_tag = 8, // varint(count), (varint(key size), key, value)...
  // An array of int64 only (the common list of numbers): varint(count),
  // zigzag varints, one tag for the whole array.
  int_array_tag = 9,
  // Only as an entry's value in an older generation: the same value as the
  // entry with this key in the next newer generation (shared by pointer).
  same_tag = 10,
};

// The deepest nesting unpack follows; pack never writes deeper than the
// values it was given, and boost::json's parser stops at 32 by default.
constexpr int max_depth = 1024;

void put_varint(std::string& out, std::uint64_t x) {
  while (x >= 0x80) {
    out += static_cast<char>((x & 0x7f) | 0x80);
    x >>= 7;
  }
  out += static_cast<char>(x);
}

std::uint64_t zigzag(std::int64_t x) {
  return (static_cast<std::uint64_t>(x) << 1)
         ^ static_cast<std::uint64_t>(x >> 63);
}

std::int64_t unzigzag(std::uint64_t x) {
  return static_cast<std::int64_t>(x >> 1)
         ^ -static_cast<std::int64_t>(x & 1);
}

void put_bytes(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s.data(), s.size());
}

bool all_int64(const boost::json::array& xs) {
  for (const auto& x : xs)
    if (!x.is_int64())
      return false;
  return !xs.empty();
}

void put_value(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out += static_cast<char>(null_tag);
      break;
    case boost::json::kind::bool_:
      out += static_cast<char>(v.get_bool() ? true_tag : false_tag);
      break;
    case boost::json::kind::int64:
      out += static_cast<char>(int_tag);
      put_varint(out, zigzag(v.get_int64()));
      break;
    case boost::json::kind::uint64:
      out += static_cast<char>(uint_tag);
      put_varint(out, v.get_uint64());
      break;
    case boost::json::kind::double_: {
      out += static_cast<char>(double_tag);
      char raw[sizeof(double)];
      auto d = v.get_double();
      std::memcpy(raw, &d, sizeof(d));
      out.append(raw, sizeof(raw));
      break;
    }
    case boost::json::kind::string:
      out += static_cast<char>(string_tag);
      put_bytes(out, v.get_string());
      break;
    case boost::json::kind::array: {
      const auto& xs = v.get_array();
      if (all_int64(xs)) {
        out += static_cast<char>(int_array_tag);
        put_varint(out, xs.size());
        for (const auto& x : xs)
          put_varint(out, zigzag(x.get_int64()));
      } else {
        out += static_cast<char>(array_tag);
        put_varint(out, xs.size());
        for (const auto& x : xs)
          put_value(out, x);
      }
      break;
    }
    case boost::json::kind::object: {
      const auto& obj = v.get_object();
      out += static_cast<char>(object_tag);
      put_varint(out, obj.size());
      for (const auto& kv : obj) {
        put_bytes(out, kv.key());
        put_value(out, kv.value());
      }
      break;
    }
  }
}

void put_generation(std::string& out, const snapshot& s,
                    const snapshot* newer) {
  put_varint(out, s.size());
  for (const auto& e : s.items()) {
    put_bytes(out, e.first);
    // Generations share unchanged values by pointer; keep that sharing
    // instead of writing (and later allocating) the value twice.
    if (newer) {
      const auto& ys = newer->items();
      auto j = std::lower_bound(ys.begin(), ys.end(), e.first,
                                [](const snapshot::entry& y,
                                   const std::string& k) {
                                  return y.first < k;
                                });
      if (j != ys.end() && j->first == e.first && j->second == e.second) {
        out += static_cast<char>(same_tag);
        continue;
      }
    }
    put_value(out, *e.second);
  }
}

/// Reads the packed bytes; every read is bounds-checked.
class reader {
public:
  explicit reader(std::string_view in) : p_(in.data()), end_(p_ + in.size()) {
  }

  bool done() const noexcept {
    return p_ == end_;
  }

  bool varint(std::uint64_t& x) {
    x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_)
        return false;
      auto b = static_cast<std::uint8_t>(*p_++);
      x |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0)
        return true;
    }
    return false;
  }

  // A count of items that each take at least one byte: never more than
  // what is left, so damaged input cannot ask for a huge reservation.
  bool count(std::size_t& n) {
    std::uint64_t x = 0;
    if (!varint(x) || x > remaining())
      return false;
    n = static_cast<std::size_t>(x);
    return true;
  }

  bool bytes(std::string_view& s) {
    std::size_t n = 0;
    if (!count(n))
      return false;
    s = {p_, n};
    p_ += n;
    return true;
  }

  bool byte(std::uint8_t& b) {
    if (p_ == end_)
      return false;
    b = static_cast<std::uint8_t>(*p_++);
    return true;
  }

  // Consumes a same_tag if one is next.
  bool skip_same() {
    if (p_ == end_ || static_cast<std::uint8_t>(*p_) != same_tag)
      return false;
    ++p_;
    return true;
  }

  bool raw(void* dst, std::size_t n) {
    if (remaining() < n)
      return false;
    std::memcpy(dst, p_, n);
    p_ += n;
    return true;
  }

  bool value(boost::json::value& v, int depth);

private:
  std::size_t remaining() const noexcept {
    return static_cast<std::size_t>(end_ - p_);
  }

  const char* p_;
  const char* end_;
};

bool reader::value(boost::json::value& v, int depth) {
  if (depth > max_depth)
    return false;
  std::uint8_t t = 0;
  if (!byte(t))
    return false;
  std::uint64_t x = 0;
  std::size_t n = 0;
  std::string_view s;
  switch (t) {
    case null_tag:
      v = nullptr;
      return true;
    case false_tag:
    case true_tag:
      v = t == true_tag;
      return true;
    case int_tag:
      if (!varint(x))
        return false;
      v = unzigzag(x);
      return true;
    case uint_tag:
      if (!varint(x))
        return false;
      v = x;
      return true;
    case double_tag: {
      double d = 0;
      if (!raw(&d, sizeof(d)))
        return false;
      v = d;
      return true;
    }
    case string_tag:
      if (!bytes(s))
        return false;
      v = boost::json::string{s};
      return true;
    case int_array_tag: {
      if (!count(n))
        return false;
      auto& xs = v.emplace_array();
      xs.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        if (!varint(x))
          return false;
        xs.emplace_back(unzigzag(x));
      }
      return true;
    }
    case array_tag: {
      if (!count(n))
        return false;
      auto& xs = v.emplace_array();
      xs.reserve(n);
      for (std::size_t i = 0; i < n; ++i)
        if (!value(xs.emplace_back(nullptr), depth + 1))
          return false;
      return true;
    }
    case object_tag: {
      if (!count(n))
        return false;
      auto& obj = v.emplace_object();
      obj.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        boost::json::value item;
        if (!bytes(s) || !value(item, depth + 1))
          return false;
        obj.emplace(s, std::move(item));
      }
      return true;
    }
    default:
      return false;
  }
}

} // namespace

packed_backup packed_backup::pack(const snapshot& first,
                                  const std::vector<snapshot>& rest) {
  std::string out;
  put_varint(out, 1 + rest.size());
  put_generation(out, first, nullptr);
  const snapshot* newer = &first;
  for (const auto& s : rest) {
    put_generation(out, s, newer);
    newer = &s;
  }
  std::string prefix;
  put_varint(prefix, out.size());
  packed_backup p;
  // for_overwrite in spirit: make_unique<T[]> would zero what memcpy fills.
  p.data_.reset(new std::uint8_t[prefix.size() + out.size()]);
  std::memcpy(p.data_.get(), prefix.data(), prefix.size());
  std::memcpy(p.data_.get() + prefix.size(), out.data(), out.size());
  return p;
}

namespace {

// The length prefix of a block: {its size, the payload's size}.
std::pair<std::size_t, std::size_t> prefix_of(const std::uint8_t* p) noexcept {
  std::size_t n = 0;
  std::size_t len = 0;
  for (int shift = 0;; shift += 7) {
    auto byte = p[n++];
    len |= static_cast<std::size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0)
      return {n, len};
  }
}

} // namespace

std::size_t packed_backup::byte_size() const noexcept {
  if (!data_)
    return 0;
  auto [n, len] = prefix_of(data_.get());
  return n + len;
}

std::string_view packed_backup::bytes() const noexcept {
  if (!data_)
    return {};
  auto [n, len] = prefix_of(data_.get());
  return {reinterpret_cast<const char*>(data_.get() + n), len};
}

std::optional<std::vector<snapshot>> packed_backup::unpack() const {
  reader in{bytes()};
  std::size_t gens = 0;
  if (!in.count(gens) || gens == 0)
    return std::nullopt;
  std::vector<snapshot> out;
  out.reserve(gens);
  for (std::size_t g = 0; g < gens; ++g) {
    std::size_t n = 0;
    if (!in.count(n))
      return std::nullopt;
    snapshot::entries xs;
    xs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::string_view key;
      if (!in.bytes(key))
        return std::nullopt;
      snapshot::value_ptr ptr;
      if (g > 0 && in.skip_same()) {
        ptr = out.back().find_ptr(key);
        if (!ptr)
          return std::nullopt;
      } else {
        auto v = std::make_shared<boost::json::value>();
        if (!in.value(*v, 0))
          return std::nullopt;
        ptr = std::move(v);
      }
      xs.push_back({std::string{key}, std::move(ptr), 0});
    }
    out.push_back(snapshot::from_entries(std::move(xs)));
  }
  if (!in.done())
    return std::nullopt;
  return out;
}

} // namespace chanstate
