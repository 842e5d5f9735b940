// The node's operator log: one line per event on stderr, as text or JSON,
// through spdlog's default logger; storms are summed up once per second.
#pragma once

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json/value.hpp>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/timespan.hpp>
#include <spdlog/common.h>

namespace chanstate {

/// How a log line looks.
enum class log_format { text, json };

/// "error", "warn", "info" or "debug"; nothing for anything else.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view x);

/// "text" or "json"; nothing for anything else.
std::optional<log_format> parse_log_format(std::string_view x);

/// Makes spdlog's default logger write to stderr (or to `sink`, for tests)
/// at `level` and above, one line per event: `<UTC time> <level> <message>
/// key=value ...` or one JSON object `{"ts","level","event","msg",...fields}`.
/// Library code that calls spdlog directly gets the same format (without
/// fields).
void setup_logging(spdlog::level::level_enum level, log_format format,
                   spdlog::sink_ptr sink = nullptr);

/// One field of an event, e.g. {"topic", "room:1"}. Never assigns, never a
/// token.
struct log_field {
  log_field(std::string_view k, boost::json::value v)
    : key(k), value(std::move(v)) {
  }
  log_field(std::string_view k, const std::string& v)
    : key(k), value(boost::json::string_view{v}) {
  }
  log_field(std::string_view k, const char* v)
    : key(k), value(boost::json::string_view{v}) {
  }

  std::string_view key;
  boost::json::value value;
};

/// Logs one event: `event` names its kind (stable, for filters), `msg` says
/// it for people.
void log_event(spdlog::level::level_enum level, std::string_view event,
               std::string_view msg, std::initializer_list<log_field> fields
                                     = {});

/// At most this many lines per second per event kind through log_limited.
inline constexpr int log_burst_per_second = 5;

/// The clock of the rate limit (the actor clock's, so that a test's virtual
/// time drives it).
using log_clock = std::chrono::steady_clock;

/// log_event for events a storm could flood with: past log_burst_per_second
/// lines in one second of one kind, the rest are counted and said in one
/// summary line ("N more <event> in the last second") once that second is
/// over: on the next tick of spawn_log_summaries' timer, with the kind's
/// next event if that comes first, or at flush_log_summaries.
void log_limited(spdlog::level::level_enum level, std::string_view event,
                 std::string_view msg, std::initializer_list<log_field> fields
                                       = {});

/// log_limited at a given time (log_limited passes log_clock::now()).
void log_limited_at(log_clock::time_point now, spdlog::level::level_enum level,
                    std::string_view event, std::string_view msg,
                    std::initializer_list<log_field> fields = {});

/// Writes the summary of every kind whose second is over at `now` and
/// forgets those kinds' seconds; returns how many summaries it wrote.
std::size_t write_due_summaries(log_clock::time_point now);

/// Spawns the actor that calls write_due_summaries every `interval` with
/// its clock's time, so that a storm's last second is said even when no
/// event of its kind follows. Stop it with an exit message (serve()'s
/// endpoint does) before ~actor_system.
caf::actor spawn_log_summaries(caf::actor_system& sys,
                               caf::timespan interval
                               = std::chrono::seconds{1});

/// Writes the summaries still pending, due or not (the node calls it when
/// it stops).
void flush_log_summaries();

} // namespace chanstate
