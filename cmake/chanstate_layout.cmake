# Makes every public header reachable as <chanstate/...> without moving a
# source file: a build-tree include directory whose chanstate/registry,
# chanstate/actors and chanstate/endpoint are links to the source folders
# registry/, actors/ and app/, beside the generated chanstate/version.hpp.
# The install rules (chanstate_install.cmake) lay the headers out the same
# way, so the build and an installed package see one set of names.
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
  file(CREATE_LINK "${PROJECT_SOURCE_DIR}/${_source}" "${_link}" SYMBOLIC)
endforeach()
configure_file("${CMAKE_CURRENT_LIST_DIR}/version.hpp.in"
               "${CHANSTATE_BUILD_INCLUDE_DIR}/chanstate/version.hpp" @ONLY)

# The include directories of every chanstate library. The source root stays
# on the build interface until the project's own "registry/..." includes are
# switched to <chanstate/registry/...> (one scripted step; see the commit
# that added this file); installed, only <prefix>/include is used.
function(chanstate_library_includes target)
  target_include_directories(${target} PUBLIC
    "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>"
    "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
    "$<BUILD_INTERFACE:${CHANSTATE_BUILD_INCLUDE_DIR}>"
    "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  target_compile_features(${target} PUBLIC cxx_std_17)
endfunction()
