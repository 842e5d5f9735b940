// Looks a request path up in the embedded demo page files.
#include <chanstate/endpoint/web_assets.hpp>

namespace chanstate {

const web_asset* find_web_asset(std::string_view path) {
  if (path == "/index.html")
    path = "/";
  for (std::size_t i = 0; i < detail::web_asset_count; ++i)
    if (detail::web_assets[i].path == path)
      return &detail::web_assets[i];
  return nullptr;
}

} // namespace chanstate
