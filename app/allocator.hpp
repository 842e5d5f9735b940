// Which malloc this executable was linked with, and its view of the heap.
#pragma once

#include <cstddef>
#include <string>

namespace chanstate {

/// "mimalloc 2.0.9", "jemalloc 5.3.0-…" or "system" (glibc); calling it also
/// keeps the allocator library a real dependency of the executable.
std::string allocator_name();

/// Bytes the allocator holds for the program: in use (system: mallinfo2,
/// jemalloc: stats.allocated) or committed (mimalloc, which counts no more
/// without its statistics build).
std::size_t heap_in_use_bytes();

/// Hands free memory back to the OS, so that RSS deltas mean live data.
void release_free_memory();

} // namespace chanstate
