// The demo page's files (index.html, app.css, app.js, phoenix.js), embedded
// in chanstate-node at build time so that `/` works without a file system
// layout or network.
#pragma once

#include <cstddef>
#include <string_view>

namespace chanstate {

/// One file served over HTTP: its bytes, or why it is not there.
struct web_asset {
  /// The request path, e.g. "/" or "/phoenix.js".
  std::string_view path;
  /// The Content-Type header value.
  const char* content_type;
  /// The file's bytes; empty when `missing` says why.
  std::string_view body;
  /// Non-empty if the file was missing when the node was built: the
  /// explanation the node answers with (HTTP 500).
  std::string_view missing;
};

/// The asset served at `path`, or nullptr if `path` is not one.
const web_asset* find_web_asset(std::string_view path);

namespace detail {

// Defined in the generated web_assets_data.cpp.
extern const web_asset web_assets[];
extern const std::size_t web_asset_count;

} // namespace detail

} // namespace chanstate
