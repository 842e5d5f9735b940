// Helpers: option parsing, percentiles, /proc readings.
#include "test/bench/bench_util.hpp"

#include "app/allocator.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <sys/resource.h>

namespace chanstate::bench {

options::options(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      values_["#" + std::to_string(i)] = a;
      continue;
    }
    auto eq = a.find('=');
    if (eq == std::string::npos)
      values_[a.substr(2)] = "true";
    else
      values_[a.substr(2, eq - 2)] = a.substr(eq + 1);
  }
}

bool options::has(const std::string& name) const {
  return values_.count(name) > 0;
}

std::string options::str(const std::string& name,
                         const std::string& fallback) const {
  auto i = values_.find(name);
  return i == values_.end() ? fallback : i->second;
}

std::int64_t options::num(const std::string& name,
                          std::int64_t fallback) const {
  auto i = values_.find(name);
  if (i == values_.end())
    return fallback;
  std::size_t pos = 0;
  auto v = std::stoll(i->second, &pos);
  if (pos != i->second.size() || v < 0)
    throw std::invalid_argument("--" + name + " needs a non-negative integer, got "
                                + i->second);
  return v;
}

bool options::flag(const std::string& name) const {
  auto v = str(name, "false");
  return v == "true" || v == "1" || v == "yes";
}

std::vector<std::string> options::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : values_)
    out.push_back(k[0] == '#' ? v : k);
  return out;
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, int p) {
  if (sorted.empty())
    return 0;
  auto n = static_cast<std::int64_t>(sorted.size());
  auto rank = std::max<std::int64_t>((p * n + 99) / 100 - 1, 0);
  return sorted[static_cast<std::size_t>(std::min(rank, n - 1))];
}

std::size_t resident_bytes() {
  std::ifstream in{"/proc/self/statm"};
  std::size_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::size_t heap_in_use_bytes() {
  return chanstate::heap_in_use_bytes();
}

void settle(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds{ms});
  release_free_memory();
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)
             / 1e6;
}

namespace {

bool read_cpu(std::uint64_t& busy, std::uint64_t& total, std::uint64_t& self) {
  std::ifstream stat{"/proc/stat"};
  std::string cpu;
  std::uint64_t v[8] = {};
  if (!(stat >> cpu) || cpu != "cpu")
    return false;
  for (auto& x : v)
    stat >> x;
  // user nice system idle iowait irq softirq steal
  busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  total = busy + v[3] + v[4];
  std::ifstream me{"/proc/self/stat"};
  std::string line;
  std::getline(me, line);
  auto p = line.rfind(") ");
  if (p == std::string::npos)
    return false;
  std::istringstream rest{line.substr(p + 2)};
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 0; i < 13 && rest >> field; ++i) {
    if (i == 11)
      utime = std::stoull(field);
    if (i == 12)
      stime = std::stoull(field);
  }
  self = utime + stime;
  return true;
}

} // namespace

other_cpu_meter::other_cpu_meter() {
  if (!read_cpu(busy0_, total0_, self0_))
    total0_ = 0;
}

double other_cpu_meter::percent() const {
  std::uint64_t busy = 0, total = 0, self = 0;
  if (total0_ == 0 || !read_cpu(busy, total, self) || total <= total0_)
    return -1;
  auto other = static_cast<double>(busy - busy0_)
               - static_cast<double>(self - self0_);
  return std::max(0.0, other) * 100.0 / static_cast<double>(total - total0_);
}

std::string phx_frame(const std::string& jr, const std::string& ref,
                      const std::string& topic, const char* event,
                      const std::string& payload) {
  // Refs, topics and events here never need escaping.
  std::string s;
  s.reserve(40 + topic.size() + payload.size());
  s += '[';
  if (jr.empty()) {
    s += "null";
  } else {
    s += '"';
    s += jr;
    s += '"';
  }
  s += ",\"";
  s += ref;
  s += "\",\"";
  s += topic;
  s += "\",\"";
  s += event;
  s += "\",";
  s += payload;
  s += ']';
  return s;
}

} // namespace chanstate::bench
