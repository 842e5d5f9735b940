// Which malloc this executable was linked with, and its view of the heap.
#pragma once

#include <cstddef>
#include <string>

namespace chanstate {

/// Puts the allocator into the mode the executables run in; call it first
/// thing in main. mimalloc: its segments go on 2 MiB transparent huge pages
/// (mimalloc's `large_os_pages`), unless `MIMALLOC_LARGE_OS_PAGES` is set in
/// the environment, which then decides. A crash storm allocates and faults
/// in gigabytes within seconds; huge pages fault ~500 times less often.
/// jemalloc and glibc: nothing.
void apply_allocator_defaults();

/// "mimalloc 2.0.9 (large OS pages)", "jemalloc 5.3.0-…" or "system"
/// (glibc); calling it also keeps the allocator library a real dependency of
/// the executable.
std::string allocator_name();

/// Bytes the allocator holds for the program: in use (system: mallinfo2,
/// jemalloc: stats.allocated) or committed (mimalloc, which counts no more
/// without its statistics build).
std::size_t heap_in_use_bytes();

/// Hands free memory back to the OS, so that RSS deltas mean live data.
void release_free_memory();

} // namespace chanstate
