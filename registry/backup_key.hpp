// The identity of one backup: one client on one topic.
#pragma once

#include <functional>
#include <string>

#include <caf/meta/type_name.hpp>

namespace chanstate {

/// A backup belongs to exactly one (topic, client id) pair.
struct backup_key {
  std::string topic;
  std::string client_id;

  friend bool operator==(const backup_key& x, const backup_key& y) {
    return x.topic == y.topic && x.client_id == y.client_id;
  }
  friend bool operator!=(const backup_key& x, const backup_key& y) {
    return !(x == y);
  }
};

/// CAF's serialization of a key (it crosses nodes in remote registry calls).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, backup_key& x) {
  return f(caf::meta::type_name("backup_key"), x.topic, x.client_id);
}

/// Human-readable form for logs and stats: "topic|client".
inline std::string to_string(const backup_key& x) {
  return x.topic + "|" + x.client_id;
}

} // namespace chanstate

/// Hashes both fields, so backup_key can key an unordered_map.
template <>
struct std::hash<chanstate::backup_key> {
  /// Mixes the hashes of topic and client id.
  size_t operator()(const chanstate::backup_key& x) const noexcept {
    auto h = std::hash<std::string>{}(x.topic);
    // boost::hash_combine's mixing step, so ("ab","c") and ("a","bc") differ.
    return h ^ (std::hash<std::string>{}(x.client_id) + 0x9e3779b97f4a7c15ULL
                + (h << 6) + (h >> 2));
  }
};
