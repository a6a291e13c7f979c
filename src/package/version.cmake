# Writes OUTPUT (the library's version.c) from version.c.in: VERSION (the project's) and the
# git commit of SOURCE_DIR when it is a checkout ("-dirty" when files differ from it). Run at
# every build; the file is rewritten only when its text changes, so nothing else rebuilds.
set(NN_COMMIT "")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" describe --always --dirty
                          --abbrev=12 --exclude=*
                  OUTPUT_VARIABLE NN_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET RESULT_VARIABLE git_status)
  if(NOT git_status EQUAL 0)
    set(NN_COMMIT "")
  endif()
endif()
if(NN_COMMIT)
  set(NN_VERSION_FULL "${VERSION} (commit ${NN_COMMIT})")
else()
  set(NN_VERSION_FULL "${VERSION}")
endif()
get_filename_component(template "${CMAKE_CURRENT_LIST_DIR}/version.c.in" ABSOLUTE)
configure_file("${template}" "${OUTPUT}" @ONLY)
