// The change log's binary form of a JSON value, and the reader of a record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace chanstate::journal_value {

// A value is one tag byte, then:
//   null, false, true     nothing
//   int64, uint64, double [8]
//   string                [4 bytes][bytes]
//   array                 [4 count] then each value
//   object                [4 count] then per member [4+n name][value]
//   int64 array           [4 count][8 each]: an array of integers only
// Numbers are in the machine's byte order: the log is replayed by the
// process that wrote it or a successor on the same machine.

/// Appends `n` (4 bytes).
void put32(std::string& out, std::uint32_t n);

/// Appends `s` with its length (4 + n bytes).
void put_text(std::string& out, std::string_view s);

/// Appends `v` in the binary form above.
void encode(std::string& out, const boost::json::value& v);

/// Reads a record's fields in order; a read past the end fails (false) and
/// nothing is read beyond the bytes given.
struct reader {
  const char* p;
  std::size_t n;

  bool u8(std::uint8_t& out) {
    if (n < 1)
      return false;
    out = static_cast<std::uint8_t>(*p);
    ++p;
    --n;
    return true;
  }
  bool u32(std::uint32_t& out) {
    if (n < 4)
      return false;
    std::memcpy(&out, p, 4);
    p += 4;
    n -= 4;
    return true;
  }
  bool bytes(std::size_t len, std::string_view& out) {
    if (n < len)
      return false;
    out = {p, len};
    p += len;
    n -= len;
    return true;
  }
  bool text(std::string& out) {
    std::string_view sv;
    if (!text(sv))
      return false;
    out.assign(sv);
    return true;
  }
  bool text(std::string_view& out) {
    std::uint32_t len;
    return u32(len) && bytes(len, out);
  }
  bool u64(void* out);
  /// A count of items that each take at least `min_bytes`: a count larger
  /// than what is left is corrupt (and must not reserve memory for it).
  bool count(std::uint32_t& out, std::size_t min_bytes);
  /// One value in the binary form; `depth` bounds the recursion a corrupt
  /// record could ask for.
  bool value(boost::json::value& out, int depth = 0);
};

} // namespace chanstate::journal_value
