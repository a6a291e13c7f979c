# `cmake --install build --prefix P`: the nntrain program, libnntrain.so (with its SONAME)
# and libnntrain.a, the public headers, nntrain.pc for pkg-config, the CMake package
# (find_package(nntrain): nntrain::nntrain, the shared library, and nntrain::nntrain_static,
# both carrying MPI/HDF5/OpenBLAS/yaml/zlib/OpenMP as usage requirements), the man page and
# the bash completion.
include(CMakePackageConfigHelpers)

install(TARGETS nntrain RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS nn nn_shared EXPORT nntrainTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/nn DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

set(NN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/nntrain)
install(EXPORT nntrainTargets NAMESPACE nntrain:: DESTINATION ${NN_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/nntrainConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/nntrainConfig.cmake
                              INSTALL_DESTINATION ${NN_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/nntrainConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/nntrainConfig.cmake
              ${PROJECT_BINARY_DIR}/nntrainConfigVersion.cmake DESTINATION ${NN_CMAKE_DIR})

# pkg-config: `pkg-config --cflags --libs nntrain` links the shared library, which names its
# own dependencies; `--static` adds them for libnntrain.a.
# The prefix is found from the .pc file's own place, so the tree may be installed anywhere
# (cmake --install --prefix P) or moved.
file(RELATIVE_PATH NN_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${CMAKE_CURRENT_LIST_DIR}/nntrain.pc.in ${PROJECT_BINARY_DIR}/nntrain.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/nntrain.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The man page, from the program's own --help texts (src/package/man.sh, help2man), and
# the bash completion (which asks the program for its verbs, flags and config keys).
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(NN_MAN_PAGE ${PROJECT_BINARY_DIR}/nntrain.1)
  add_custom_command(OUTPUT ${NN_MAN_PAGE}
                     COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/man.sh $<TARGET_FILE:nntrain>
                             ${HELP2MAN} ${NN_MAN_PAGE}
                     DEPENDS nntrain ${CMAKE_CURRENT_LIST_DIR}/man.sh VERBATIM)
  add_custom_target(nntrain_man ALL DEPENDS ${NN_MAN_PAGE})
  install(FILES ${NN_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(WARNING "help2man not found: no man page (Debian: apt-get install help2man)")
endif()
install(FILES ${CMAKE_CURRENT_LIST_DIR}/nntrain.bash RENAME nntrain
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
