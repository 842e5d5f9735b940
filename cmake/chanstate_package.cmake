# `make package`: one Debian package with chanstate-node in /usr/bin, its
# systemd unit reading /etc/chanstate/node.ini, the headers, the libraries
# and the CMake package. test/package checks what it holds.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME chanstate)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "chanstate maintainers <chanstate@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Phoenix-style channels for CAF services; channel state survives crashes")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# /etc/chanstate/node.ini is an absolute destination.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL dev node etc)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libcaf-core0.17, libcaf-io0.17, libboost-json1.81.0, liblmdb0, libc6, libstdc++6, libgcc-s1, libprometheus-cpp-core1.0, libspdlog1.10, libfmt9")
# The allocator chanstate-node links (chanstate_allocator.cmake).
if(_chanstate_allocator STREQUAL "mimalloc")
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libmimalloc2.0")
elseif(_chanstate_allocator STREQUAL "jemalloc")
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libjemalloc2")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "libcaf-dev, libboost1.81-dev, libboost-json1.81-dev, liblmdb-dev, prometheus-cpp-dev, libspdlog-dev")
# The edited config survives an upgrade.
file(WRITE "${PROJECT_BINARY_DIR}/packaging/conffiles" "/etc/chanstate/node.ini\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${PROJECT_BINARY_DIR}/packaging/conffiles")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
include(CPack)
