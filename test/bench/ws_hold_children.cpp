// ws-hold over several processes: this program runs as `ws-hold --child`
// once per share of the clients (a process may open only so many
// descriptors), reads each child's JSON line and latency samples and adds
// them up; the node's RSS is sampled here, where all children are seen.
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "test/bench/ws_hold_parts.hpp"

extern char** environ;

namespace chanstate::bench::ws_hold_detail {

namespace {

namespace json = boost::json;

struct child_proc {
  pid_t pid = -1;
  int out = -1; // its stdout
  std::string buf;
  bool held = false;
  json::object result;
};

// Starts this program as `ws-hold --child ...` for one share of clients.
child_proc spawn_child(const ws_hold_options& o, int clients, int first,
                       const std::string& samples) {
  std::vector<std::string> args{
    "chanstate-bench",
    "ws-hold",
    "--url=" + o.url,
    "--clients=" + std::to_string(clients),
    "--seconds=" + std::to_string(o.seconds),
    "--heartbeat-ms=" + std::to_string(o.heartbeat_ms),
    "--get-rate=" + std::to_string(std::max(1, o.get_rate / o.procs)),
    "--connect-concurrency=" + std::to_string(o.connect_concurrency),
    "--timeout-ms=" + std::to_string(o.timeout_ms),
    "--first-client=" + std::to_string(first),
    "--samples-file=" + samples,
    "--child"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  child_proc c;
  if (::pipe(fds) != 0)
    return c;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  if (posix_spawn(&c.pid, "/proc/self/exe", &fa, nullptr, argv.data(),
                  environ)
      != 0)
    c.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  c.out = fds[0];
  return c;
}

void read_samples(const std::string& path, std::vector<std::int64_t>& gets,
                  std::vector<std::int64_t>& hbs) {
  std::ifstream in{path};
  char kind;
  std::int64_t us;
  while (in >> kind >> us)
    (kind == 'g' ? gets : hbs).push_back(us);
  std::remove(path.c_str());
}

} // namespace

void write_samples(const std::string& path, const hold_result& h) {
  std::ofstream out{path};
  for (auto us : h.get_us)
    out << "g " << us << '\n';
  for (auto us : h.heartbeat_us)
    out << "h " << us << '\n';
}

hold_result hold_in_children(const ws_hold_options& o) {
  hold_result out;
  auto& r = out.report;
  auto& gets = out.get_us;
  auto& hbs = out.heartbeat_us;
  std::int64_t held_kb = -1, peak_kb = -1;
  std::vector<child_proc> kids;
  int share = (o.clients + o.procs - 1) / o.procs;
  auto tag = "/tmp/chanstate-ws-hold-" + std::to_string(::getpid()) + "-";
  for (int k = 0, first = 0; k < o.procs && first < o.clients; ++k) {
    int n = std::min(share, o.clients - first);
    kids.push_back(spawn_child(o, n, first, tag + std::to_string(k)));
    first += n;
  }
  std::size_t done = 0;
  std::size_t held = 0;
  while (done < kids.size()) {
    std::vector<pollfd> fds;
    for (auto& k : kids)
      fds.push_back({k.out, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 1000);
    peak_kb = std::max(peak_kb, node_rss_kb(o.node_pid));
    for (std::size_t i = 0; i < kids.size(); ++i) {
      auto& k = kids[i];
      if (k.out < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
        continue;
      char buf[4096];
      auto n = ::read(k.out, buf, sizeof buf);
      if (n > 0) {
        k.buf.append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(k.out);
        k.out = -1;
        ++done;
      }
      for (auto nl = k.buf.find('\n'); nl != std::string::npos;
           nl = k.buf.find('\n')) {
        auto line = k.buf.substr(0, nl);
        k.buf.erase(0, nl + 1);
        if (line.rfind("held ", 0) == 0 && !k.held) {
          k.held = true;
          // Every child holds its clients: the node's RSS for all.
          if (++held == kids.size()) {
            held_kb = node_rss_kb(o.node_pid);
            peak_kb = std::max(peak_kb, held_kb);
          }
        } else if (!line.empty() && line[0] == '{') {
          json::error_code ec;
          auto v = json::parse(line, ec);
          if (!ec && v.is_object())
            k.result = std::move(v.get_object());
        }
      }
    }
  }
  for (auto& k : kids)
    if (k.pid > 0)
      ::waitpid(k.pid, nullptr, 0);
  // Sums over the children.
  const char* sums[] = {"clients",   "held",       "held_at_end",
                        "failed",    "heartbeats", "heartbeats_ok",
                        "gets",      "gets_ok",    "errors"};
  for (auto key : sums) {
    std::int64_t total = 0;
    for (auto& k : kids)
      total += num(k.result, key);
    r[key] = total;
  }
  double join_s = 0;
  bool out_of_fds = false;
  for (std::size_t i = 0; i < kids.size(); ++i) {
    auto& k = kids[i];
    if (k.result.empty())
      r["errors"] = num(r, "errors") + 1;
    if (auto* j = k.result.if_contains("join_s"); j && j->is_double())
      join_s = std::max(join_s, j->get_double());
    if (auto* f = k.result.if_contains("generator_out_of_fds");
        f && f->is_bool())
      out_of_fds = out_of_fds || f->get_bool();
    if (auto* e = k.result.if_contains("first_error");
        e && !r.contains("first_error"))
      r["first_error"] = *e;
    read_samples(tag + std::to_string(i), gets, hbs);
  }
  r["join_s"] = join_s;
  r["generator_out_of_fds"] = out_of_fds;
  // For the RSS figures, under the names a single process reports them.
  r["node_rss_held_kb"] = held_kb;
  r["node_peak_rss_kb"] = peak_kb;
  return out;
}

} // namespace chanstate::bench::ws_hold_detail
