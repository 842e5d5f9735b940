// A cold backup's generations packed into one compact byte string.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <chanstate/registry/snapshot.hpp>

namespace chanstate {

/// A backup's generations (newest first) in a compact binary form: one
/// heap block instead of a tree of shared JSON values. A list of 100
/// integers takes ~3 bytes per element here against 16–24 as
/// `boost::json::value`s; a string takes its bytes plus a length.
///
/// Unpacking gives back values equal to the packed ones, of the same JSON
/// kind (int64, uint64, double bit for bit, strings byte for byte, object
/// keys in their order), so a restored backup serializes to the same text.
/// A value that a generation shares with the next newer one is written once
/// and is shared again after unpacking.
///
/// The form is private to one process (it is never written to disk or sent:
/// the journal and the remote protocol keep their own codecs).
class packed_backup {
public:
  packed_backup() = default;

  /// Packs `first` and `rest` (the generations before it, newest first).
  static packed_backup pack(const snapshot& first,
                            const std::vector<snapshot>& rest);

  /// The generations, newest first; nothing if the bytes are damaged
  /// (which only a bug in this file could cause).
  std::optional<std::vector<snapshot>> unpack() const;

  /// Heap bytes this form holds (its length prefix included): exactly
  /// what the backup table counts for a packed backup.
  std::size_t byte_size() const noexcept;

  bool empty() const noexcept {
    return data_ == nullptr;
  }

  /// The packed bytes, without the length prefix (for tests and checks).
  std::string_view bytes() const noexcept;

private:
  // One pointer, not a std::string or pointer + size: the block starts with
  // its own length (a varint), so a stored backup carries 8 bytes here and
  // no spare capacity.
  std::unique_ptr<std::uint8_t[]> data_;
};

} // namespace chanstate
