// What every fuzz target asserts: a broken promise aborts, libFuzzer keeps
// the input.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace chanstate::fuzz {

/// libFuzzer's input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Aborts with a message: the fuzzer reports a crash and saves the input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

inline void check(bool ok, const char* what) {
  if (!ok)
    fail(what);
}

/// True if `text` is JSON that any client can parse (no Infinity, no NaN).
inline bool parses_as_json(std::string_view text) {
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  return !ec;
}

/// Structural equality that lets doubles drift: Boost.JSON 1.81 may move a
/// double by one ULP per parse/serialize round.
inline bool loosely_equal(const boost::json::value& a,
                          const boost::json::value& b) {
  if (a.is_number() && b.is_number() && (a.is_double() || b.is_double())) {
    auto x = a.to_number<double>();
    auto y = b.to_number<double>();
    return x == y || std::fabs(x - y) <= 1e-12 * std::fmax(std::fabs(x),
                                                           std::fabs(y));
  }
  if (a.kind() != b.kind())
    return false;
  if (auto* xs = a.if_array()) {
    auto& ys = b.get_array();
    if (xs->size() != ys.size())
      return false;
    for (std::size_t i = 0; i < xs->size(); ++i)
      if (!loosely_equal((*xs)[i], ys[i]))
        return false;
    return true;
  }
  if (auto* xs = a.if_object()) {
    auto& ys = b.get_object();
    if (xs->size() != ys.size())
      return false;
    for (const auto& kv : *xs) {
      auto* y = ys.if_contains(kv.key());
      if (!y || !loosely_equal(kv.value(), *y))
        return false;
    }
    return true;
  }
  return a == b;
}

} // namespace chanstate::fuzz
