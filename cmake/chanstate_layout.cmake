# Makes every public header reachable as <chanstate/...> without moving a
# source file: a build-tree include directory whose chanstate/registry,
# chanstate/actors and chanstate/endpoint are links to the source folders
# registry/, actors/ and app/, beside the generated chanstate/version.hpp.
# The install rules (chanstate_install.cmake) lay the headers out the same
# way, so the build and an installed package see one set of names.
# The source root is this file's parent folder, so that the projects of
# their own under test/ (fuzz, tsan) can include this file too.
get_filename_component(CHANSTATE_SOURCE_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(CHANSTATE_BUILD_INCLUDE_DIR "${PROJECT_BINARY_DIR}/include")
file(MAKE_DIRECTORY "${CHANSTATE_BUILD_INCLUDE_DIR}/chanstate")
# public name -> source folder
set(CHANSTATE_HEADER_FOLDERS registry=registry actors=actors endpoint=app)
foreach(_pair IN LISTS CHANSTATE_HEADER_FOLDERS)
  string(REPLACE "=" ";" _pair "${_pair}")
  list(GET _pair 0 _public)
  list(GET _pair 1 _source)
  set(_link "${CHANSTATE_BUILD_INCLUDE_DIR}/chanstate/${_public}")
  if(IS_SYMLINK "${_link}")
    file(REMOVE "${_link}")
  endif()
  file(CREATE_LINK "${CHANSTATE_SOURCE_ROOT}/${_source}" "${_link}" SYMBOLIC)
endforeach()
if(PROJECT_NAME STREQUAL "chanstate")
  configure_file("${CMAKE_CURRENT_LIST_DIR}/version.hpp.in"
                 "${CHANSTATE_BUILD_INCLUDE_DIR}/chanstate/version.hpp" @ONLY)
endif()
# Include directories for <chanstate/...>: the links and the umbrella
# headers (include/chanstate/).
set(CHANSTATE_INCLUDE_DIRS "${CHANSTATE_SOURCE_ROOT}/include" "${CHANSTATE_BUILD_INCLUDE_DIR}")

# The include directories of every chanstate library. The library's own
# code includes <chanstate/...> only; the source root stays on the build
# interface for what is not part of the library and is included by path:
# the node's own headers ("app/node.hpp", ...) and the tests' helpers
# ("test/bench/..."). Installed, only <prefix>/include is used.
function(chanstate_library_includes target)
  target_include_directories(${target} PUBLIC
    "$<BUILD_INTERFACE:${CHANSTATE_SOURCE_ROOT}>"
    "$<BUILD_INTERFACE:${CHANSTATE_SOURCE_ROOT}/include>"
    "$<BUILD_INTERFACE:${CHANSTATE_BUILD_INCLUDE_DIR}>"
    "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  target_compile_features(${target} PUBLIC cxx_std_17)
endfunction()
