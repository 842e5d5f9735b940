// A JSON object that can ride in a CAF message.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

namespace chanstate {

/// A JSON array made of immutable values that a payload shares by pointer
/// instead of copying: the concatenation of `parts` (each an array; its
/// elements are the list's). How a reply carries a list that lives in the
/// assigns (which are immutable and shared the same way) without an
/// O(list) copy inside the process; it is written out once, at the edge.
struct shared_list {
  std::string key;
  std::vector<std::shared_ptr<const boost::json::value>> parts;
};

/// The shared lists of one object of a payload: fields of `value[in]`, or
/// of `value` itself when `in` is empty. A key here wins over the same key
/// in that object.
struct shared_lists {
  std::string in;
  std::vector<shared_list> lists;
};

/// Boost.JSON types are not inspectable; this wrapper is. Inside one process
/// the object moves through the mailbox untouched; only when a message leaves
/// the process does it become text (and a non-object is refused on the way in).
struct json_payload {
  /// An empty object.
  json_payload() = default;

  /// A plain payload: `v` is all of it.
  json_payload(boost::json::object v) : value(std::move(v)) {
  }

  /// `v` plus lists written out as its fields without a copy (see
  /// reply::share_list).
  json_payload(boost::json::object v, std::shared_ptr<const shared_lists> s)
    : value(std::move(v)), shared(std::move(s)) {
  }

  /// The payload's own fields (all of it when `shared` is null).
  boost::json::object value;
  /// Lists written out as fields of the payload without being copied into
  /// `value` (null for almost every payload; see shared_lists). A consumer
  /// that wants one DOM calls materialize(); serialize_payload() writes
  /// them without a copy.
  std::shared_ptr<const shared_lists> shared;

  /// Copies the shared lists into `value` and drops `shared`: afterwards
  /// `value` alone is the payload.
  void materialize();
};

/// Appends the payload as JSON text, shared lists included (written from
/// the shared arrays, not copied first): the same text serializing the
/// materialized payload gives.
void append_payload(std::string& out, const json_payload& p);

/// Runs `sr` to completion, writing its text straight into the end of
/// `out` (no intermediate buffer).
void append_serialized(std::string& out, boost::json::serializer& sr);

/// The payload as JSON text (append_payload into a fresh string).
std::string serialize_payload(const json_payload& p);

/// CAF's serialization: the payload as JSON text (shared lists written
/// out); loading refuses text that is not a JSON object.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, json_payload& x) {
  std::string text;
  if constexpr (Inspector::reads_state) {
    text = serialize_payload(x);
    return f(caf::meta::type_name("json_payload"), text);
  } else {
    return f(caf::meta::type_name("json_payload"), text,
             caf::meta::load_callback([&]() -> caf::error {
               boost::json::error_code ec;
               auto v = boost::json::parse(text, ec);
               if (ec)
                 return caf::make_error(caf::sec::invalid_argument,
                                        ec.message());
               if (!v.is_object())
                 return caf::make_error(caf::sec::invalid_argument,
                                        "payload is not a JSON object");
               x.value = std::move(v.get_object());
               x.shared.reset();
               return caf::none;
             }));
  }
}

} // namespace chanstate
