# Install rules, the exported CMake package (find_package(chanstate)) and the
# Debian package (make package, CPack). Included only for the top-level
# project or with CHANSTATE_INSTALL=ON.
include(CMakePackageConfigHelpers)

set(CHANSTATE_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/chanstate")

set_target_properties(chanstate_registry PROPERTIES EXPORT_NAME registry)
set_target_properties(chanstate_actors PROPERTIES EXPORT_NAME actors)
set_target_properties(chanstate_wire PROPERTIES EXPORT_NAME wire)
set_target_properties(chanstate_endpoint PROPERTIES EXPORT_NAME endpoint)
install(TARGETS chanstate_registry chanstate_actors chanstate_wire
                chanstate_endpoint chanstate chanstate_testing
  EXPORT chanstateTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT chanstateTargets NAMESPACE chanstate::
  DESTINATION "${CHANSTATE_CMAKE_DIR}" COMPONENT dev)

configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/chanstateConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/chanstateConfig.cmake"
  INSTALL_DESTINATION "${CHANSTATE_CMAKE_DIR}")
# 0.x: a new minor version may change the API, so 0.2 takes only 0.2.z.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/chanstateConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/chanstateConfig.cmake"
              "${PROJECT_BINARY_DIR}/chanstateConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/FindLMDB.cmake"
  DESTINATION "${CHANSTATE_CMAKE_DIR}" COMPONENT dev)

# Public headers, laid out as the build-tree include directory names them
# (chanstate_layout.cmake). Globbed, not listed: a header added to a library
# folder must not be missing from the package. app/ also holds the node's
# own headers and the endpoint's private ones (log, metrics, web assets),
# which are not installed.
set(_node_only_headers allocator.hpp config_file.hpp demo.hpp node.hpp node_config.hpp
                       log.hpp metrics.hpp web_assets.hpp token_command.hpp
                       ws_server_shared.hpp ws_server_beast.hpp ws_server_connection.hpp
                       ws_server_http.hpp)
# Library sources' own headers: shared by a library's .cpp files only, never
# included by a public header.
set(_private_headers actors/channel_state.hpp registry/journal_lmdb.hpp)
foreach(_pair IN LISTS CHANSTATE_HEADER_FOLDERS)
  string(REPLACE "=" ";" _pair "${_pair}")
  list(GET _pair 0 _public)
  list(GET _pair 1 _source)
  file(GLOB_RECURSE _headers CONFIGURE_DEPENDS RELATIVE "${PROJECT_SOURCE_DIR}/${_source}"
       "${PROJECT_SOURCE_DIR}/${_source}/*.hpp")
  foreach(_h IN LISTS _headers)
    if(_source STREQUAL "app" AND _h IN_LIST _node_only_headers)
      continue()
    endif()
    if("${_source}/${_h}" IN_LIST _private_headers)
      continue()
    endif()
    get_filename_component(_dir "${_h}" DIRECTORY)
    install(FILES "${PROJECT_SOURCE_DIR}/${_source}/${_h}"
      DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/chanstate/${_public}/${_dir}"
      COMPONENT dev)
  endforeach()
endforeach()
install(FILES "${PROJECT_SOURCE_DIR}/include/chanstate/chanstate.hpp"
              "${PROJECT_SOURCE_DIR}/include/chanstate/testing.hpp"
              "${CHANSTATE_BUILD_INCLUDE_DIR}/chanstate/version.hpp"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/chanstate" COMPONENT dev)
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" "${PROJECT_SOURCE_DIR}/CHANGELOG.md"
              "${PROJECT_SOURCE_DIR}/packaging/node.ini.example"
  DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT dev)

if(CHANSTATE_BUILD_NODE)
  install(TARGETS chanstate-node RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
    COMPONENT node)
  # Debian keeps units in /usr/lib/systemd/system (merged /usr).
  install(FILES "${PROJECT_SOURCE_DIR}/packaging/chanstate-node.service"
    DESTINATION "lib/systemd/system" COMPONENT node)
  # /etc only in the Debian package: a staged install into a prefix must not
  # write to the machine's /etc.
  install(FILES "${PROJECT_SOURCE_DIR}/packaging/node.ini.example"
    DESTINATION "/etc/chanstate" RENAME node.ini
    COMPONENT etc EXCLUDE_FROM_ALL)
endif()

include(chanstate_package)
