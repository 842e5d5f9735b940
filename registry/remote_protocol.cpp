// Delta encoding for commits that cross nodes.
#include <chanstate/registry/remote_protocol.hpp>

#include <boost/json.hpp>

#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

std::string encode_delta(const snapshot& before, const snapshot& after) {
  boost::json::object set;
  boost::json::array unset;
  for_each_change(
    before, after,
    [&](const std::string& name, const snapshot::value_ptr& v) {
      set.emplace(name, *v);
    },
    [&](const std::string& name) { unset.emplace_back(name); });
  return boost::json::serialize(
    boost::json::object{{"set", std::move(set)}, {"unset", std::move(unset)}});
}

caf::expected<snapshot> apply_delta(const snapshot& base,
                                    const std::string& delta) {
  boost::json::error_code ec;
  auto v = boost::json::parse(delta, ec);
  if (ec)
    return caf::make_error(registry_error::invalid_json, ec.message());
  auto* obj = v.if_object();
  auto* set = obj ? obj->if_contains("set") : nullptr;
  auto* unset = obj ? obj->if_contains("unset") : nullptr;
  if (!set || !set->is_object() || !unset || !unset->is_array())
    return caf::make_error(registry_error::not_an_object,
                           "a delta is {\"set\": {...}, \"unset\": [...]}");
  auto out = base;
  for (const auto& name : unset->get_array()) {
    if (!name.is_string())
      return caf::make_error(registry_error::not_an_object,
                             "unset names must be strings");
    out = out.without(name.get_string());
  }
  for (auto& kv : set->get_object())
    out = out.with(std::string{kv.key()}, std::move(kv.value()));
  return out;
}

std::string to_json_text(const snapshot& s) {
  return boost::json::serialize(s.to_object());
}

caf::expected<snapshot> snapshot_from_json_text(const std::string& text) {
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec)
    return caf::make_error(registry_error::invalid_json, ec.message());
  if (!v.is_object())
    return caf::make_error(registry_error::not_an_object,
                           "assigns must be a JSON object");
  return snapshot::from_object(v.get_object());
}

} // namespace chanstate
