# Memcheck cells (valgrind_cells.sh): our client and our server under
# valgrind for a few interop cells, zero errors and zero definite/indirect
# leaks expected. Included at the end of tests/interop/CMakeLists.txt.
#
#   ctest -L valgrind --output-on-failure        (or: cmake --build . --target valgrind)
#
# Not registered in the -DIOTLS_SANITIZE=ON build: memcheck cannot run
# ASan-instrumented binaries (both replace malloc and claim the shadow
# memory). That build's own sanitizers check the same code paths instead, and
# the normal build, run first by `make test`, has these tests.
if(IOTLS_SANITIZE)
  message(STATUS "iotls: valgrind cells not registered (IOTLS_SANITIZE=ON: ASan and memcheck do not mix)")
  return()
endif()

# The program under memcheck is always our own command, even when
# IOTLS_INTEROP_CLIENT names a stand-in client.
if(TARGET iotls_cli)
  set(IA_VG_IOTLS $<TARGET_FILE:iotls_cli>)
else()
  set(IA_VG_IOTLS ${IA_IOTLS})
endif()

foreach(cell client-openssl openssl-server mutual wrong-ca)
  set(name interop.valgrind.${cell})
  add_test(NAME ${name} COMMAND bash ${IA_DIR}/valgrind_cells.sh ${cell})
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "${IA_ENV};IA_IOTLS_SERVER=${IA_VG_IOTLS}"
    FIXTURES_REQUIRED pki
    TIMEOUT 400
    LABELS "interop;valgrind")
endforeach()

add_custom_target(valgrind
  COMMAND ${CMAKE_CTEST_COMMAND} -L valgrind --output-on-failure
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
  COMMENT "iotls client and server under valgrind memcheck"
  USES_TERMINAL)
