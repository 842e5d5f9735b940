// Immutable assigns: the value a commit publishes and a backup keeps.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
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
  /// An assigned value, immutable and shared between snapshots.
  using value_ptr = std::shared_ptr<const boost::json::value>;
  /// One assign. Named like a std::pair (name, value), plus the value's
  /// estimated size, computed once when it was assigned.
  struct entry {
    std::string first;
    value_ptr second;
    std::size_t bytes = 0;
  };
  /// What from_entries takes (and what byte_size() counts for an empty map).
  using entries = std::vector<entry>;

  /// The sorted entries of a snapshot: a view, valid while the snapshot is.
  class entry_range {
  public:
    /// No entries.
    entry_range() = default;
    /// The entries [first, last).
    entry_range(const entry* first, const entry* last) noexcept
      : first_(first), last_(last) {
    }
    /// The first entry (sorted by key).
    const entry* begin() const noexcept {
      return first_;
    }
    /// Past the last entry.
    const entry* end() const noexcept {
      return last_;
    }
    /// How many entries.
    std::size_t size() const noexcept {
      return static_cast<std::size_t>(last_ - first_);
    }
    /// True if there are none.
    bool empty() const noexcept {
      return first_ == last_;
    }
    /// The i-th entry by key order; `i < size()`.
    const entry& operator[](std::size_t i) const noexcept {
      return first_[i];
    }

  private:
    const entry* first_ = nullptr;
    const entry* last_ = nullptr;
  };

  /// No assigns (allocates nothing).
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

  /// Sets `key` to `value` in this snapshot: in place when no other
  /// snapshot shares this map (a handler's second assign before its
  /// commit), else as `*this = with(key, value)`. Other snapshots never see
  /// the change.
  void set(std::string key, boost::json::value value);

  /// set(), reusing `spare` instead of allocating when this map is shared:
  /// `spare` is an older map of the same keys that nothing else holds (the
  /// generation a commit displaced, commit_cell::take_spare). It is made
  /// equal to this map (only the values that differ change hands) and then
  /// changed in place; any other spare is released and set() runs as
  /// usual. Other snapshots never see the change.
  void set(std::string key, boost::json::value value, snapshot spare);

  /// Prepares a displaced map to be a spare for `like`: it stays only if
  /// nothing else holds it and it has as many keys as `like`, and it lets
  /// go of every value `like` does not hold in the same place, so a spare
  /// keeps no value alive that the assigns no longer have. Returns false
  /// (and empties `spare`) when it cannot be one.
  static bool trim_spare(snapshot& spare, const snapshot& like) noexcept;

  /// Moves this snapshot's reference into the returned one and keeps only
  /// a view of the same map, one that holds no reference: for a writer
  /// whose commit cell keeps the map alive until the writer's next commit
  /// (commit_sink::publish), which saves the reference count's round trip
  /// per commit. A copy or a move of the view holds a reference again, and
  /// set() never changes a view in place. A view stays a view (the result
  /// is then a copy).
  snapshot hand_over() noexcept {
    if (!data_ || data_.borrowed())
      return *this;
    snapshot out;
    out.data_.swap(data_);
    data_ = body_ptr::view(out.data_.get());
    return out;
  }

  /// True if no other snapshot shares this map (set() changes it in place).
  bool unshared() const noexcept {
    return data_.unique();
  }

  /// A snapshot equal to this one without `key`.
  snapshot without(std::string_view key) const;

  /// Materializes the assigns as a JSON object (a deep copy: for the edge).
  boost::json::object to_object() const;

  /// Estimated heap bytes held by the map and its values: a running total
  /// (O(1)), equal to what walking every value would give.
  std::size_t byte_size() const noexcept;

  /// True if there are no assigns.
  bool empty() const noexcept {
    return !data_ || data_->size == 0;
  }

  /// How many assigns (keys).
  std::size_t size() const noexcept {
    return data_ ? data_->size : 0;
  }

  /// True if both share the same map (cheap identity check, not equality).
  bool same_as(const snapshot& other) const noexcept {
    return data_ == other.data_;
  }

  /// Every assign, sorted by key: a view valid while this snapshot is.
  entry_range items() const noexcept {
    if (!data_)
      return {};
    return {data_->first(), data_->first() + data_->size};
  }

  /// Estimated bytes of one entry: what byte_size() adds for it.
  static std::size_t entry_bytes(std::string_view key,
                                 const boost::json::value& value);

private:
  friend class commit_cell; // publishes data_ itself: no allocation per commit
  friend class packed_backup; // rebuilds snapshots from their packed form

  /// What a snapshot shares: a reference count, the sum of the entries'
  /// sizes (so a size check never walks values) and the sorted entries
  /// right behind it, all in one allocation: a commit allocates one map,
  /// not a control block, a body and a vector.
  struct body {
    std::atomic<std::size_t> refs{1};
    std::size_t bytes = 0;
    std::size_t size = 0; // entries constructed so far

    entry* first() noexcept {
      return reinterpret_cast<entry*>(this + 1);
    }
    const entry* first() const noexcept {
      return reinterpret_cast<const entry*>(this + 1);
    }

    /// Room for `capacity` entries, none constructed yet.
    static body* make(std::size_t capacity);
    /// Destroys the entries and frees the block.
    static void destroy(body* b) noexcept;
  };
  static_assert(sizeof(body) % alignof(entry) == 0,
                "entries follow the body header");

  /// An intrusive, thread-safe reference to a body (the commit cell swaps
  /// it under its lock; the registry copies it on another thread).
  class body_ptr {
  public:
    body_ptr() = default;
    explicit body_ptr(body* b) noexcept
      : bits_(reinterpret_cast<std::uintptr_t>(b)) {
    }
    /// A view of `b` that holds no reference (hand_over): someone else
    /// keeps the map alive as long as the view is used. Copies and moves
    /// of a view hold a reference again.
    static body_ptr view(body* b) noexcept {
      body_ptr out;
      out.bits_ = reinterpret_cast<std::uintptr_t>(b) | borrowed_bit;
      return out;
    }
    body_ptr(const body_ptr& x) noexcept
      : bits_(reinterpret_cast<std::uintptr_t>(x.get())) {
      if (bits_)
        get()->refs.fetch_add(1, std::memory_order_relaxed);
    }
    body_ptr(body_ptr&& x) noexcept : bits_(x.bits_) {
      x.bits_ = 0;
      if (borrowed()) { // a view that moves on takes a reference
        bits_ &= ~borrowed_bit;
        get()->refs.fetch_add(1, std::memory_order_relaxed);
      }
    }
    body_ptr& operator=(body_ptr x) noexcept {
      swap(x);
      return *this;
    }
    ~body_ptr() {
      if (bits_ && !borrowed()
          && get()->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
        body::destroy(get());
    }
    void swap(body_ptr& x) noexcept {
      std::swap(bits_, x.bits_);
    }
    /// True if no other reference exists (so nothing can see a change); a
    /// view never is.
    bool unique() const noexcept {
      return bits_ && !borrowed()
             && get()->refs.load(std::memory_order_acquire) == 1;
    }
    bool borrowed() const noexcept {
      return (bits_ & borrowed_bit) != 0;
    }
    body* get() const noexcept {
      return reinterpret_cast<body*>(bits_ & ~borrowed_bit);
    }
    body* operator->() const noexcept {
      return get();
    }
    explicit operator bool() const noexcept {
      return bits_ != 0;
    }
    friend bool operator==(const body_ptr& x, const body_ptr& y) noexcept {
      return x.get() == y.get();
    }

  private:
    // A body is allocated by operator new: its low bit is free to mark a
    // view.
    static constexpr std::uintptr_t borrowed_bit = 1;
    std::uintptr_t bits_ = 0;
  };

  explicit snapshot(body_ptr data) : data_(std::move(data)) {
  }

  static snapshot from_entries(entries xs);

  /// with(), where `i` is lower_bound(key) in items().
  snapshot with_at(const entry* i, std::string key,
                   boost::json::value value) const;

  body_ptr data_;
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
