# make install: headers, both libraries, rpmsg.pc and a CMake package config.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/rpmsg DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS rpmsg_static rpmsg_shared EXPORT rpmsgTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET rpmsg_tool)
  install(TARGETS rpmsg_tool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT rpmsgTargets NAMESPACE rpmsg:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rpmsg)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/rpmsgConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/rpmsgConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rpmsg)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/rpmsgConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/rpmsgConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/rpmsgConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rpmsg)

configure_file(${CMAKE_CURRENT_LIST_DIR}/rpmsg.pc.in ${CMAKE_CURRENT_BINARY_DIR}/rpmsg.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/rpmsg.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The tool's man pages and the Wireshark dissector for its --pcap files.
if(RPMSG_MAN_PAGES)
  install(FILES ${RPMSG_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
install(FILES ${CMAKE_CURRENT_LIST_DIR}/../tools/wireshark/rpmsg.lua
  DESTINATION ${CMAKE_INSTALL_DATADIR}/rpmsg-stack/wireshark)
