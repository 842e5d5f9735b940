// A ws:// URL split into what a Beast connect and upgrade need.
#pragma once

#include <string>

namespace chanstate::bench {

struct parsed_url {
  std::string host;
  std::string port;
  std::string path;
};

/// Splits ws://HOST[:PORT][/PATH]; the path defaults to /socket, loses any
/// query and trailing slash, and ends in /websocket. Throws
/// std::invalid_argument for another scheme or an empty host.
parsed_url parse_url(const std::string& url);

} // namespace chanstate::bench
