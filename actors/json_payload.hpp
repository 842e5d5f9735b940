// A JSON object that can ride in a CAF message.
#pragma once

#include <string>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

namespace chanstate {

/// Boost.JSON types are not inspectable; this wrapper is. Inside one process
/// the object moves through the mailbox untouched; only when a message leaves
/// the process does it become text (and a non-object is refused on the way in).
struct json_payload {
  boost::json::object value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, json_payload& x) {
  std::string text;
  if constexpr (Inspector::reads_state) {
    text = boost::json::serialize(x.value);
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
               return caf::none;
             }));
  }
}

} // namespace chanstate
