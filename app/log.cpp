// spdlog set up for an operator: stderr, UTC timestamps, text or JSON lines,
// and a per-kind limit so that a crash storm cannot flood the log.
#include <chanstate/endpoint/log.hpp>

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <caf/all.hpp>
#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace chanstate {

namespace {

namespace json = boost::json;

// The event of the line being formatted: spdlog formats synchronously on
// the calling thread, so log_event hands its fields to the formatter here.
struct pending_event {
  std::string_view event;
  std::initializer_list<log_field> fields;
};
thread_local const pending_event* current_event = nullptr;

std::string_view level_name(spdlog::level::level_enum lvl) {
  switch (lvl) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

std::string utc_time(spdlog::log_clock::time_point t) {
  auto secs = spdlog::log_clock::to_time_t(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              t.time_since_epoch())
              .count()
            % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

void append(spdlog::memory_buf_t& dest, std::string_view x) {
  dest.append(x.data(), x.data() + x.size());
}

// A text value: bare when it is one plain word, else JSON-quoted. Fields
// that are null (absent) are left out of both formats.
std::string text_value(const json::value& v) {
  if (auto s = v.if_string()) {
    std::string_view sv{s->data(), s->size()};
    bool plain = !sv.empty()
                 && sv.find_first_of(" =\"\\\n\r\t") == std::string_view::npos;
    if (plain)
      return std::string{sv};
  }
  return json::serialize(v);
}

class line_formatter : public spdlog::formatter {
public:
  explicit line_formatter(log_format fmt) : fmt_(fmt) {
  }

  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    std::string_view payload{msg.payload.data(), msg.payload.size()};
    const auto* ev = current_event;
    if (fmt_ == log_format::text) {
      append(dest, utc_time(msg.time));
      append(dest, " ");
      append(dest, level_name(msg.level));
      append(dest, " ");
      append(dest, payload);
      if (ev)
        for (const auto& [key, value] : ev->fields) {
          if (value.is_null())
            continue;
          append(dest, " ");
          append(dest, key);
          append(dest, "=");
          append(dest, text_value(value));
        }
    } else {
      json::object line;
      line["ts"] = utc_time(msg.time);
      line["level"] = level_name(msg.level);
      if (ev)
        line["event"] = ev->event;
      line["msg"] = payload;
      if (ev)
        for (const auto& [key, value] : ev->fields)
          if (!value.is_null())
            line[key] = value;
      append(dest, json::serialize(line));
    }
    append(dest, "\n");
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<line_formatter>(fmt_);
  }

private:
  log_format fmt_;
};

// One kind's second: lines written and lines held back.
struct window {
  log_clock::time_point start;
  int written = 0;
  long held = 0;
  spdlog::level::level_enum level = spdlog::level::info;
};

std::mutex windows_mtx;
std::map<std::string, window, std::less<>> windows;

void write_summary(std::string_view event, const window& w) {
  log_event(w.level, "log_summary",
            std::to_string(w.held) + " more " + std::string{event}
              + " in the last second",
            {{"of", json::string{event}}, {"count", w.held}});
}

} // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view x) {
  if (x == "error")
    return spdlog::level::err;
  if (x == "warn")
    return spdlog::level::warn;
  if (x == "info")
    return spdlog::level::info;
  if (x == "debug")
    return spdlog::level::debug;
  return std::nullopt;
}

std::optional<log_format> parse_log_format(std::string_view x) {
  if (x == "text")
    return log_format::text;
  if (x == "json")
    return log_format::json;
  return std::nullopt;
}

void setup_logging(spdlog::level::level_enum level, log_format format,
                   spdlog::sink_ptr sink) {
  if (!sink)
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("chanstate", std::move(sink));
  logger->set_formatter(std::make_unique<line_formatter>(format));
  logger->set_level(level);
  // Every line is flushed: the log is read while the node runs, and a
  // crashed node must not take its last lines with it.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void log_event(spdlog::level::level_enum level, std::string_view event,
               std::string_view msg, std::initializer_list<log_field> fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level))
    return;
  pending_event ev{event, fields};
  current_event = &ev;
  logger->log(level, "{}", msg);
  current_event = nullptr;
}

void log_limited(spdlog::level::level_enum level, std::string_view event,
                 std::string_view msg, std::initializer_list<log_field> fields) {
  log_limited_at(log_clock::now(), level, event, msg, fields);
}

void log_limited_at(log_clock::time_point now, spdlog::level::level_enum level,
                    std::string_view event, std::string_view msg,
                    std::initializer_list<log_field> fields) {
  if (!spdlog::default_logger_raw()->should_log(level))
    return;
  window summary;
  bool write = false;
  {
    std::lock_guard<std::mutex> guard{windows_mtx};
    auto i = windows.find(event);
    if (i == windows.end())
      i = windows.emplace(std::string{event}, window{now}).first;
    auto& w = i->second;
    // The timer may not have ticked yet: the second that ended is said
    // before this event starts the next one.
    if (now - w.start >= std::chrono::seconds{1}) {
      if (w.held > 0)
        summary = w;
      w = window{now};
    }
    w.level = level;
    write = w.written < log_burst_per_second;
    if (write)
      ++w.written;
    else
      ++w.held;
  }
  if (summary.held > 0)
    write_summary(event, summary);
  if (write)
    log_event(level, event, msg, fields);
}

std::size_t write_due_summaries(log_clock::time_point now) {
  std::map<std::string, window, std::less<>> due;
  {
    std::lock_guard<std::mutex> guard{windows_mtx};
    for (auto i = windows.begin(); i != windows.end();) {
      if (now - i->second.start >= std::chrono::seconds{1}) {
        if (i->second.held > 0)
          due.insert(windows.extract(i++));
        else
          i = windows.erase(i);
      } else {
        ++i;
      }
    }
  }
  // Written outside the lock, as log_limited does: a slow sink must not
  // hold up the threads that count events.
  for (const auto& [event, w] : due)
    write_summary(event, w);
  return due.size();
}

namespace {

using summary_tick_atom = caf::atom_constant<caf::atom("cs_logtick")>;

// A delayed-send loop on the actor system rather than a thread of its own
// or the Asio loop's timer: it runs on a scheduler worker like every other
// caller of the log (one mutex orders them), it stops with an exit message
// like the endpoint's other actors, and under the test coordinator its
// ticks follow virtual time, so the summary can be tested without sleeps.
caf::behavior summary_timer(caf::event_based_actor* self,
                            caf::timespan interval) {
  self->delayed_send(self, interval, summary_tick_atom::value);
  return {
    [self, interval](summary_tick_atom) {
      write_due_summaries(self->clock().now());
      self->delayed_send(self, interval, summary_tick_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_log_summaries(caf::actor_system& sys, caf::timespan interval) {
  return sys.spawn(summary_timer, interval);
}

void flush_log_summaries() {
  std::map<std::string, window, std::less<>> pending;
  {
    std::lock_guard<std::mutex> guard{windows_mtx};
    pending.swap(windows);
  }
  for (const auto& [event, w] : pending)
    if (w.held > 0)
      write_summary(event, w);
}

} // namespace chanstate
