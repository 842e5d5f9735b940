// Immutable assigns: the value a commit publishes and a backup keeps.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace chanstate {

/// An immutable map from assign name to a shared, immutable JSON value.
/// Copying a snapshot copies one pointer. `with` builds a new map that shares
/// every unchanged value with the old one, so publishing assigns after a
/// handler costs O(number of keys), never O(bytes of state). Each entry's
/// estimated size is computed once, when its value is assigned, and the map
/// keeps their sum, so byte_size() is O(1).
class snapshot {
public:
  using value_ptr = std::shared_ptr<const boost::json::value>;
  /// One assign. Named like a std::pair (name, value), plus the value's
  /// estimated size, computed once when it was assigned.
  struct entry {
    std::string first;
    value_ptr second;
    std::size_t bytes = 0;
  };
  using entries = std::vector<entry>;

  snapshot() = default;

  /// Builds a snapshot from a JSON object (one deep copy, at the edge only).
  static snapshot from_object(const boost::json::object& obj);

  /// Builds a snapshot from a JSON object, moving its values (no copy).
  static snapshot from_object(boost::json::object&& obj);

  /// The value under `key`, or nullptr.
  const boost::json::value* find(std::string_view key) const noexcept;

  /// The shared value under `key`, or nullptr.
  value_ptr find_ptr(std::string_view key) const;

  /// A snapshot equal to this one with `key` set to `value`.
  snapshot with(std::string key, boost::json::value value) const;

  /// A snapshot equal to this one without `key`.
  snapshot without(std::string_view key) const;

  /// Materializes the assigns as a JSON object (a deep copy: for the edge).
  boost::json::object to_object() const;

  /// Estimated heap bytes held by the map and its values: a running total
  /// (O(1)), equal to what walking every value would give.
  std::size_t byte_size() const noexcept;

  bool empty() const noexcept {
    return !data_ || data_->items.empty();
  }

  std::size_t size() const noexcept {
    return data_ ? data_->items.size() : 0;
  }

  /// True if both share the same map (cheap identity check, not equality).
  bool same_as(const snapshot& other) const noexcept {
    return data_ == other.data_;
  }

  const entries& items() const noexcept;

  /// Estimated bytes of one entry: what byte_size() adds for it.
  static std::size_t entry_bytes(std::string_view key,
                                 const boost::json::value& value);

private:
  friend class commit_cell; // publishes data_ itself: no allocation per commit
  friend class packed_backup; // rebuilds snapshots from their packed form

  /// What a snapshot shares: the sorted entries and the sum of their
  /// sizes, so that a size check never walks values.
  struct body {
    entries items;
    std::size_t bytes = 0;
  };

  explicit snapshot(std::shared_ptr<const body> data) : data_(std::move(data)) {
  }

  static snapshot from_entries(entries xs);

  std::shared_ptr<const body> data_;
};

/// Estimated heap bytes of one JSON value, including nested values.
std::size_t json_byte_size(const boost::json::value& v);

/// Calls `changed(name, value)` for every assign that `after` adds or
/// changes against `before`, and `removed(name)` for every one it drops.
/// Unchanged values are the same pointer, so this costs O(keys) plus the
/// comparison of values that were replaced by equal ones.
template <class Changed, class Removed>
void for_each_change(const snapshot& before, const snapshot& after,
                     Changed&& changed, Removed&& removed) {
  const auto& xs = before.items();
  const auto& ys = after.items();
  auto i = xs.begin();
  auto j = ys.begin();
  while (i != xs.end() || j != ys.end()) {
    if (j == ys.end() || (i != xs.end() && i->first < j->first)) {
      removed(i->first);
      ++i;
    } else if (i == xs.end() || j->first < i->first) {
      changed(j->first, j->second);
      ++j;
    } else {
      if (i->second != j->second && *i->second != *j->second)
        changed(j->first, j->second);
      ++i;
      ++j;
    }
  }
}

} // namespace chanstate
