// Route matching: exact topics and "prefix*" patterns.
#include <chanstate/actors/router.hpp>

#include <chanstate/actors/channel_error.hpp>

namespace chanstate {

caf::error router::add(std::string pattern, channel_factory factory) {
  if (!factory)
    return caf::make_error(channel_error::invalid_pattern,
                           "no channel factory for pattern " + pattern);
  auto star = pattern.find('*');
  if (pattern.empty() || pattern == "*"
      || (star != std::string::npos && star != pattern.size() - 1))
    return caf::make_error(channel_error::invalid_pattern,
                           "pattern must be a topic or a prefix ending in one "
                           "'*', got '" + pattern + "'");
  bool wildcard = star != std::string::npos;
  if (wildcard)
    pattern.pop_back();
  routes_.push_back(route{std::move(pattern), wildcard, std::move(factory)});
  return caf::none;
}

const channel_factory* router::match(std::string_view topic) const {
  for (const auto& r : routes_) {
    if (r.wildcard ? topic.substr(0, r.prefix.size()) == r.prefix
                       && topic.size() > r.prefix.size()
                   : topic == r.prefix)
      return &r.factory;
  }
  return nullptr;
}

} // namespace chanstate
