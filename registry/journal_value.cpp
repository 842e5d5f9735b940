// The change log's binary values: written per waiting frame, read at replay.
#include <chanstate/registry/journal_value.hpp>

#include <algorithm>
#include <cstring>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

namespace chanstate::journal_value {

namespace {

enum tag : char {
  t_null,
  t_false,
  t_true,
  t_int64,
  t_uint64,
  t_double,
  t_string,
  t_array,
  t_object,
  t_int64_array,
};

template <class T>
void put64(std::string& out, T x) {
  static_assert(sizeof(T) == 8);
  char b[8];
  std::memcpy(b, &x, 8);
  out.append(b, 8);
}

} // namespace

void put32(std::string& out, std::uint32_t n) {
  char b[4];
  std::memcpy(b, &n, 4);
  out.append(b, 4);
}

void put_text(std::string& out, std::string_view s) {
  put32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

void encode(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out.push_back(t_null);
      break;
    case boost::json::kind::bool_:
      out.push_back(v.get_bool() ? t_true : t_false);
      break;
    case boost::json::kind::int64:
      out.push_back(t_int64);
      put64(out, v.get_int64());
      break;
    case boost::json::kind::uint64:
      out.push_back(t_uint64);
      put64(out, v.get_uint64());
      break;
    case boost::json::kind::double_:
      out.push_back(t_double);
      put64(out, v.get_double());
      break;
    case boost::json::kind::string:
      out.push_back(t_string);
      put_text(out, v.get_string());
      break;
    case boost::json::kind::array: {
      const auto& xs = v.get_array();
      bool ints = std::all_of(xs.begin(), xs.end(),
                              [](const auto& x) { return x.is_int64(); });
      out.push_back(ints ? t_int64_array : t_array);
      put32(out, static_cast<std::uint32_t>(xs.size()));
      if (ints) {
        // One resize, then plain stores: no per-element append.
        auto at = out.size();
        out.resize(at + 8 * xs.size());
        auto* p = out.data() + at;
        for (const auto& x : xs) {
          auto n = x.get_int64();
          std::memcpy(p, &n, 8);
          p += 8;
        }
      } else {
        for (const auto& x : xs)
          encode(out, x);
      }
      break;
    }
    case boost::json::kind::object:
      out.push_back(t_object);
      put32(out, static_cast<std::uint32_t>(v.get_object().size()));
      for (const auto& kv : v.get_object()) {
        put_text(out, kv.key());
        encode(out, kv.value());
      }
      break;
  }
}

bool reader::u64(void* out) {
  std::string_view sv;
  if (!bytes(8, sv))
    return false;
  std::memcpy(out, sv.data(), 8);
  return true;
}
bool reader::count(std::uint32_t& out, std::size_t min_bytes) {
  return u32(out) && out <= n / min_bytes;
}
bool reader::value(boost::json::value& out, int depth) {
  std::uint8_t t;
  if (depth > 256 || !u8(t))
    return false;
  switch (t) {
    case t_null:
      out = nullptr;
      return true;
    case t_false:
    case t_true:
      out = t == t_true;
      return true;
    case t_int64: {
      std::int64_t x = 0;
      if (!u64(&x))
        return false;
      out = x;
      return true;
    }
    case t_uint64: {
      std::uint64_t x = 0;
      if (!u64(&x))
        return false;
      out = x;
      return true;
    }
    case t_double: {
      double x = 0;
      if (!u64(&x))
        return false;
      out = x;
      return true;
    }
    case t_string: {
      std::string_view sv;
      if (!text(sv))
        return false;
      out = boost::json::string(sv);
      return true;
    }
    case t_int64_array: {
      std::uint32_t k;
      if (!count(k, 8))
        return false;
      auto& xs = out.emplace_array();
      xs.reserve(k);
      for (std::uint32_t i = 0; i < k; ++i) {
        std::int64_t x = 0;
        std::memcpy(&x, p + 8 * std::size_t{i}, 8);
        xs.push_back(x);
      }
      p += 8 * std::size_t{k};
      n -= 8 * std::size_t{k};
      return true;
    }
    case t_array: {
      std::uint32_t k;
      if (!count(k, 1))
        return false;
      auto& xs = out.emplace_array();
      xs.reserve(k);
      for (std::uint32_t i = 0; i < k; ++i)
        if (!value(xs.emplace_back(nullptr), depth + 1))
          return false;
      return true;
    }
    case t_object: {
      std::uint32_t k;
      if (!count(k, 5))
        return false;
      auto& obj = out.emplace_object();
      obj.reserve(k);
      for (std::uint32_t i = 0; i < k; ++i) {
        std::string_view name;
        boost::json::value x;
        if (!text(name) || !value(x, depth + 1))
          return false;
        obj[name] = std::move(x);
      }
      return true;
    }
    default:
      return false;
  }
}

} // namespace chanstate::journal_value
