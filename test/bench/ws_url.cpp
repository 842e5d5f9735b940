// Parses the bench's --url the way phoenix.js builds its endpoint.
#include "test/bench/ws_url.hpp"

#include <stdexcept>

namespace chanstate::bench {

parsed_url parse_url(const std::string& url) {
  const std::string scheme = "ws://";
  if (url.rfind(scheme, 0) != 0)
    throw std::invalid_argument("--url must start with ws://, got " + url);
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  parsed_url u;
  u.path = slash == std::string::npos ? "/socket" : rest.substr(slash);
  if (auto q = u.path.find('?'); q != std::string::npos)
    u.path.erase(q);
  while (u.path.size() > 1 && u.path.back() == '/')
    u.path.pop_back();
  // phoenix.js appends the transport to the endpoint; accept either form.
  const std::string transport = "/websocket";
  if (u.path.size() < transport.size()
      || u.path.compare(u.path.size() - transport.size(), transport.size(),
                        transport)
           != 0)
    u.path += transport;
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    u.host = hostport;
    u.port = "80";
  } else {
    u.host = hostport.substr(0, colon);
    u.port = hostport.substr(colon + 1);
  }
  if (u.host.empty())
    throw std::invalid_argument("--url has no host: " + url);
  return u;
}

} // namespace chanstate::bench
