// What the soak reads about the node's memory and its own descriptors.
#include "test/bench/soak.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

namespace chanstate::bench {

rss_probe probe_rss(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  if (!in) {
    // No file: the process is gone, or this process may open no more
    // files (its own descriptor limit), which says nothing about the node.
    if (::kill(pid, 0) != 0 && errno == ESRCH)
      return {rss_probe::gone, -1};
    return {rss_probe::unreadable, -1};
  }
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return {rss_probe::ok, std::stoll(line.substr(6))};
  return {rss_probe::gone, -1}; // a zombie has no VmRSS
}

bool out_of_descriptors() {
  int fd = ::dup(2);
  if (fd < 0)
    return errno == EMFILE || errno == ENFILE;
  ::close(fd);
  return false;
}

} // namespace chanstate::bench
