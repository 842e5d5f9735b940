# The malloc linked into chanstate-node and chanstate-bench, on purpose and
# not by LD_PRELOAD: allocation is a fifth of the recovery path's CPU with
# glibc (README, "Performance"). The libraries stay allocator-neutral; only
# executables pick one, through the chanstate_allocator target.
set(CHANSTATE_ALLOCATOR "mimalloc" CACHE STRING
    "malloc of chanstate-node and chanstate-bench: mimalloc, jemalloc or system")
set_property(CACHE CHANSTATE_ALLOCATOR PROPERTY STRINGS mimalloc jemalloc system)

set(_chanstate_allocator "${CHANSTATE_ALLOCATOR}")
if(NOT CHANSTATE_BUILD_NODE)
  # Only libraries are built (a subproject): no executable to give one to.
  set(_chanstate_allocator "system")
endif()
if(CHANSTATE_SANITIZERS AND NOT _chanstate_allocator STREQUAL "system")
  # ASan replaces malloc itself; a second replacement only fights it.
  message(STATUS "chanstate: sanitizers on, allocator ${CHANSTATE_ALLOCATOR} -> system")
  set(_chanstate_allocator "system")
endif()

if(_chanstate_allocator STREQUAL "mimalloc")
  find_path(MIMALLOC_INCLUDE_DIR mimalloc.h)
  find_library(MIMALLOC_LIBRARY NAMES mimalloc)
  if(NOT MIMALLOC_INCLUDE_DIR OR NOT MIMALLOC_LIBRARY)
    message(FATAL_ERROR "CHANSTATE_ALLOCATOR=mimalloc needs libmimalloc-dev "
                        "(or configure with -DCHANSTATE_ALLOCATOR=system)")
  endif()
  set(_chanstate_allocator_lib "${MIMALLOC_LIBRARY}")
  set(_chanstate_allocator_inc "${MIMALLOC_INCLUDE_DIR}")
  set(_chanstate_allocator_def CHANSTATE_ALLOCATOR_MIMALLOC)
elseif(_chanstate_allocator STREQUAL "jemalloc")
  find_path(JEMALLOC_INCLUDE_DIR jemalloc/jemalloc.h)
  find_library(JEMALLOC_LIBRARY NAMES jemalloc)
  if(NOT JEMALLOC_INCLUDE_DIR OR NOT JEMALLOC_LIBRARY)
    message(FATAL_ERROR "CHANSTATE_ALLOCATOR=jemalloc needs libjemalloc-dev")
  endif()
  set(_chanstate_allocator_lib "${JEMALLOC_LIBRARY}")
  set(_chanstate_allocator_inc "${JEMALLOC_INCLUDE_DIR}")
  set(_chanstate_allocator_def CHANSTATE_ALLOCATOR_JEMALLOC)
elseif(_chanstate_allocator STREQUAL "system")
  set(_chanstate_allocator_lib "")
  set(_chanstate_allocator_inc "")
  set(_chanstate_allocator_def CHANSTATE_ALLOCATOR_SYSTEM)
else()
  message(FATAL_ERROR "CHANSTATE_ALLOCATOR must be mimalloc, jemalloc or system, "
                      "not '${CHANSTATE_ALLOCATOR}'")
endif()
message(STATUS "chanstate: executables link the ${_chanstate_allocator} allocator")
