# Cells against Mbed TLS 4.0's own TLS 1.3 programs (ssl_server2,
# ssl_client2), built once per clone from the release tarball by
# scripts/mbedtls4-peers.sh into build-mbedtls4-peers/ (a fixture test, so
# the build happens when the tests run, not at configure time). Included by
# tests/interop/CMakeLists.txt with every feature on.
#
# Registered only where the tarball is there; elsewhere one test,
# interop.mbedtls4.not-run, says so and is reported as skipped by ctest
# (never as a pass).
set(IA_MBEDTLS4_PEERS ${CMAKE_SOURCE_DIR}/build-mbedtls4-peers)
execute_process(
  COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/mbedtls4-peers.sh ${IA_MBEDTLS4_PEERS} check
  RESULT_VARIABLE ia_mbedtls4_check
  ERROR_VARIABLE ia_mbedtls4_why
  OUTPUT_QUIET)
if(ia_mbedtls4_check EQUAL 0)
  add_test(NAME interop.mbedtls4.build
    COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/mbedtls4-peers.sh ${IA_MBEDTLS4_PEERS})
  set_tests_properties(interop.mbedtls4.build PROPERTIES
    FIXTURES_SETUP mbedtls4_peers TIMEOUT 1800 LABELS interop)
  foreach(role client server)
    foreach(set matrix features)
      set(name interop.mbedtls4.${role}.${set})
      add_test(NAME ${name} COMMAND bash ${IA_DIR}/mbedtls4_cells.sh ${role} ${set})
      set_tests_properties(${name} PROPERTIES
        ENVIRONMENT "${IA_ENV};MBEDTLS4_PEERS=${IA_MBEDTLS4_PEERS};IA_IOTLS_SERVER=${IA_SRV_IOTLS}"
        FIXTURES_REQUIRED "pki;mbedtls4_peers"
        TIMEOUT 300
        LABELS interop)
    endforeach()
  endforeach()
else()
  string(STRIP "${ia_mbedtls4_why}" ia_mbedtls4_why)
  message(STATUS "iotls: interop.mbedtls4.* not registered: ${ia_mbedtls4_why}")
  add_test(NAME interop.mbedtls4.not-run
    COMMAND sh -c "printf '%s\\n' \"$0\"; exit 77" "interop.mbedtls4 NOT RUN: ${ia_mbedtls4_why}")
  set_tests_properties(interop.mbedtls4.not-run PROPERTIES SKIP_RETURN_CODE 77 LABELS interop)
endif()
