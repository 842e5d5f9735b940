// The exit matrix (README, "The exit matrix"), one down reason at a time.
#include <doctest/doctest.h>

#include <cstdint>

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

#include <chanstate/registry/exit_policy.hpp>
#include <chanstate/registry/registry_error.hpp>

using namespace chanstate;

TEST_CASE("a normal end and a clean shutdown discard the backup") {
  CHECK(classify_exit(caf::none) == exit_verdict::discard);
  CHECK(classify_exit(caf::exit_reason::user_shutdown)
        == exit_verdict::discard);
}

TEST_CASE("a thrown handler and an error stop keep the backup as a crash") {
  CHECK(classify_exit(caf::make_error(channel_exit::crashed, "boom"))
        == exit_verdict::keep_crash);
  CHECK(classify_exit(caf::make_error(channel_exit::stopped_with_error))
        == exit_verdict::keep_crash);
  // CAF's own reason for an exception without a custom handler.
  CHECK(classify_exit(caf::sec::runtime_error) == exit_verdict::keep_crash);
  // Any error a user handler stops with.
  CHECK(classify_exit(caf::make_error(caf::sec::invalid_argument, "x"))
        == exit_verdict::keep_crash);
}

TEST_CASE("a kill keeps the backup without counting a crash") {
  CHECK(classify_exit(caf::exit_reason::kill) == exit_verdict::keep);
}

TEST_CASE("ends caused outside the state keep the backup without counting a "
          "crash") {
  CHECK(classify_exit(caf::make_error(channel_exit::transport_lost))
        == exit_verdict::keep);
  CHECK(classify_exit(caf::make_error(channel_exit::taken_over))
        == exit_verdict::keep);
  CHECK(classify_exit(caf::make_error(channel_exit::join_refused))
        == exit_verdict::keep);
  CHECK(classify_exit(caf::exit_reason::remote_link_unreachable)
        == exit_verdict::keep);
}

TEST_CASE("a channel a restarted registry found gone keeps its backup "
          "without counting a crash") {
  CHECK(classify_exit(caf::make_error(channel_exit::untracked))
        == exit_verdict::keep);
}

TEST_CASE("reasons are told apart by category as well as code") {
  // Same numeric code as kill / transport_lost, other categories: these are
  // errors a handler stopped with, so they count as crashes.
  auto kill_code = static_cast<std::uint8_t>(caf::exit_reason::kill);
  auto lost_code = static_cast<std::uint8_t>(channel_exit::transport_lost);
  CHECK(classify_exit(caf::make_error(static_cast<caf::sec>(kill_code)))
        == exit_verdict::keep_crash);
  CHECK(classify_exit(caf::make_error(static_cast<registry_error>(lost_code)))
        == exit_verdict::keep_crash);
  CHECK(is_reason(caf::exit_reason::kill, caf::exit_reason::kill));
  CHECK(is_reason(caf::make_error(channel_exit::crashed, "with context"),
                  channel_exit::crashed));
  CHECK_FALSE(is_reason(caf::make_error(channel_exit::crashed),
                        channel_exit::taken_over));
  CHECK_FALSE(is_reason(caf::none, caf::exit_reason::kill));
  CHECK_FALSE(is_reason(caf::make_error(static_cast<caf::sec>(kill_code)),
                        caf::exit_reason::kill));
}

TEST_CASE("verdicts and reasons have readable names") {
  CHECK(std::string{to_string(exit_verdict::discard)} == "discard");
  CHECK(std::string{to_string(exit_verdict::keep)} == "keep");
  CHECK(std::string{to_string(exit_verdict::keep_crash)} == "keep_crash");
  CHECK(describe(caf::none) == "normal");
  CHECK(describe(caf::make_error(channel_exit::crashed, "boom"))
        == "crashed: boom");
  CHECK(describe(caf::exit_reason::kill) == "kill");
}
