// Readiness: the registry link's up/down events and the journal writer's
// down, turned into /readyz answers and one stdout line per change.
#include <chanstate/endpoint/readiness.hpp>

#include <optional>

#include <boost/json.hpp>
#include <caf/all.hpp>

#include <chanstate/actors/registry_link.hpp>
#include <chanstate/endpoint/log.hpp>
#include <chanstate/registry/registry_error.hpp>

namespace chanstate {

readiness::readiness(std::string registry, bool journal)
  : registry_(std::move(registry)),
    registry_up_(registry_.empty()),
    journal_(journal) {
}

bool readiness::ready_locked() const {
  return registry_up_ && journal_lost_.empty();
}

std::string readiness::reason_locked() const {
  if (!registry_up_)
    return "registry " + registry_ + " is not connected";
  if (!journal_lost_.empty())
    return "journal stopped: " + journal_lost_;
  return {};
}

bool readiness::check(std::string& json) const {
  std::lock_guard<std::mutex> guard{mtx_};
  boost::json::object doc{
    {"ready", ready_locked()},
    {"registry", registry_.empty() ? "local" : registry_},
    {"registry_connected", registry_up_},
    {"journal", !journal_             ? "off"
                : journal_lost_.empty() ? "open"
                                        : "stopped"},
  };
  if (!ready_locked())
    doc["reason"] = reason_locked();
  json = boost::json::serialize(doc) + '\n';
  return ready_locked();
}

void readiness::announce(std::ostream& out, const std::string& url) {
  std::lock_guard<std::mutex> guard{mtx_};
  out_ = &out;
  out << "chanstate-node listening on " << url << " ("
      << (ready_locked() ? "ready" : "not ready: " + reason_locked()) << ")"
      << std::endl;
}

void readiness::changed_locked(bool was_ready) {
  // Before the startup line the change is part of it.
  if (!out_ || was_ready == ready_locked())
    return;
  if (ready_locked())
    *out_ << "chanstate-node ready: registry "
          << (registry_.empty() ? "local" : registry_ + " connected")
          << std::endl;
  else
    *out_ << "chanstate-node not ready: " << reason_locked() << std::endl;
}

void readiness::set_registry(bool up) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto was = ready_locked();
  if (up != registry_up_)
    ++(up ? link_ups_ : link_downs_);
  registry_up_ = up;
  changed_locked(was);
}

boost::json::value readiness::link_figures() const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (registry_.empty())
    return nullptr;
  return boost::json::object{{"registry", registry_},
                             {"connected", registry_up_},
                             {"ups", link_ups_},
                             {"downs", link_downs_}};
}

void readiness::journal_lost(std::string why) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto was = ready_locked();
  journal_lost_ = why.empty() ? "stopped" : std::move(why);
  changed_locked(was);
}

namespace {

// One operator line per change of the registry link (rate-limited: a link
// that flaps every retry must not flood the log). The state reported on
// subscribing is said only when it is up: a node that starts while its
// registry is not there yet says so on stdout ("not ready").
void log_link_change(std::optional<bool> before, bool up,
                     const std::string& registry) {
  if (before == up || (!before && !up))
    return;
  if (up)
    log_limited(spdlog::level::info, "registry_link_up",
                "registry link up", {{"registry", registry}});
  else
    log_limited(spdlog::level::warn, "registry_link_down",
                "registry link down: joins wait for it, live channels keep "
                "serving",
                {{"registry", registry}});
}

caf::behavior watch_impl(caf::event_based_actor* self,
                         std::shared_ptr<readiness> r, caf::actor link,
                         caf::actor journal) {
  // Event-driven: the link tells us of every up/down as it happens (and
  // its state when we subscribe), so nothing polls and no change is missed
  // between two polls.
  if (link)
    self->send(link, caf::subscribe_atom::value,
               caf::actor_cast<caf::actor>(self));
  if (journal) {
    self->monitor(journal);
    self->set_down_handler([r, addr = journal.address()](caf::down_msg& dm) {
      // user_shutdown: the node is stopping it on purpose.
      if (dm.source == addr && dm.reason != caf::exit_reason::user_shutdown)
        r->journal_lost(describe(dm.reason));
    });
  }
  // The link reports its state when we subscribe, then every change.
  auto known = std::make_shared<std::optional<bool>>();
  return {
    [r, known](link_status_atom, bool up, const std::string& registry) {
      log_link_change(*known, up, registry);
      *known = up;
      r->set_registry(up);
    },
  };
}

} // namespace

caf::actor spawn_readiness_watch(caf::actor_system& sys,
                                 std::shared_ptr<readiness> r, caf::actor link,
                                 caf::actor journal) {
  return sys.spawn(watch_impl, std::move(r), std::move(link),
                   std::move(journal));
}

} // namespace chanstate
