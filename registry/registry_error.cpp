// Names for chanstate's error codes.
#include <chanstate/registry/registry_error.hpp>

#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

namespace chanstate {

std::string to_string(registry_error x) {
  switch (x) {
    case registry_error::invalid_key:
      return "invalid_key";
    case registry_error::not_an_object:
      return "not_an_object";
    case registry_error::invalid_json:
      return "invalid_json";
    case registry_error::no_backup:
      return "no_backup";
    case registry_error::superseded:
      return "superseded";
    case registry_error::journal_unusable:
      return "journal_unusable";
    case registry_error::journal_too_new:
      return "journal_too_new";
    case registry_error::journal_corrupt:
      return "journal_corrupt";
    case registry_error::unreachable:
      return "unreachable";
  }
  return "registry_error(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(channel_exit x) {
  switch (x) {
    case channel_exit::crashed:
      return "crashed";
    case channel_exit::stopped_with_error:
      return "stopped_with_error";
    case channel_exit::transport_lost:
      return "transport_lost";
    case channel_exit::taken_over:
      return "taken_over";
    case channel_exit::join_refused:
      return "join_refused";
    case channel_exit::untracked:
      return "untracked";
  }
  return "channel_exit(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string context_text(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.empty())
    return {};
  // Our errors carry one string; print it bare rather than as a tuple.
  if (ctx.match_elements<std::string>())
    return ": " + ctx.get_as<std::string>(0);
  return ": " + caf::to_string(ctx);
}

std::string describe(const caf::error& err) {
  if (!err)
    return "normal";
  std::string name;
  auto cat = err.category();
  if (cat == caf::atom("cs_reg"))
    name = to_string(static_cast<registry_error>(err.code()));
  else if (cat == caf::atom("cs_exit"))
    name = to_string(static_cast<channel_exit>(err.code()));
  else if (cat == caf::atom("exit"))
    name = caf::to_string(static_cast<caf::exit_reason>(err.code()));
  else if (cat == caf::atom("system"))
    name = caf::to_string(static_cast<caf::sec>(err.code()));
  else
    return caf::to_string(err);
  return name + context_text(err);
}

} // namespace chanstate
