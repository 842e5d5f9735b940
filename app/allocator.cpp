// One allocator per executable, chosen by CHANSTATE_ALLOCATOR at configure.
#include "app/allocator.hpp"

#include <cstdlib>

#if defined(CHANSTATE_ALLOCATOR_MIMALLOC)
#  include <mimalloc.h>
#elif defined(CHANSTATE_ALLOCATOR_JEMALLOC)
#  include <cstdint>
#  include <jemalloc/jemalloc.h>
#else
#  include <malloc.h>
#endif

namespace chanstate {

#if defined(CHANSTATE_ALLOCATOR_MIMALLOC)

void apply_allocator_defaults() {
  // mimalloc read its environment when it started; an operator's explicit
  // MIMALLOC_LARGE_OS_PAGES (0 or 1) stands. The option is checked whenever
  // mimalloc maps a new segment, so setting it here covers every segment
  // the actor system will use.
  if (std::getenv("MIMALLOC_LARGE_OS_PAGES") == nullptr)
    mi_option_enable(mi_option_large_os_pages);
}

std::string allocator_name() {
  auto v = mi_version(); // e.g. 209 for 2.0.9
  auto name = "mimalloc " + std::to_string(v / 100) + "."
              + std::to_string(v / 10 % 10) + "." + std::to_string(v % 10);
  if (mi_option_is_enabled(mi_option_large_os_pages))
    name += " (large OS pages)";
  return name;
}

std::size_t heap_in_use_bytes() {
  std::size_t elapsed = 0, user = 0, sys = 0, rss = 0, peak_rss = 0,
              commit = 0, peak_commit = 0, faults = 0;
  mi_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit,
                  &peak_commit, &faults);
  return commit;
}

void release_free_memory() {
  mi_collect(true);
}

#elif defined(CHANSTATE_ALLOCATOR_JEMALLOC)

void apply_allocator_defaults() {}

std::string allocator_name() {
  const char* v = nullptr;
  std::size_t len = sizeof(v);
  if (mallctl("version", &v, &len, nullptr, 0) != 0 || v == nullptr)
    return "jemalloc";
  return std::string{"jemalloc "} + v;
}

std::size_t heap_in_use_bytes() {
  // Statistics are cached until the epoch advances.
  std::uint64_t epoch = 1;
  std::size_t len = sizeof(epoch);
  mallctl("epoch", &epoch, &len, &epoch, len);
  std::size_t allocated = 0;
  len = sizeof(allocated);
  mallctl("stats.allocated", &allocated, &len, nullptr, 0);
  return allocated;
}

void release_free_memory() {
  auto name = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  mallctl(name.c_str(), nullptr, nullptr, nullptr, 0);
}

#else

void apply_allocator_defaults() {}

std::string allocator_name() {
  return "system";
}

std::size_t heap_in_use_bytes() {
  auto mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

void release_free_memory() {
  malloc_trim(0);
}

#endif

} // namespace chanstate
