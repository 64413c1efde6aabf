# The examples in examples/ (examples_cells.sh): interop.examples.build
# installs the build into a scratch prefix and compiles each example with
# cc and pkg-config alone (fixture "examples"); the other tests run those
# binaries against Mosquitto, nginx, `iotls server --http` and openssl
# s_server. Included from CMakeLists.txt in this directory.
set(IA_EXAMPLES_ENV ${IA_ENV}
  IA_EXAMPLES_SRC=${CMAKE_SOURCE_DIR}/examples
  IA_EXAMPLES_DIR=${CMAKE_CURRENT_BINARY_DIR}/examples
  IA_BUILD_DIR=${CMAKE_BINARY_DIR})
if(IOTLS_SANITIZE)
  # The sanitizer build's library needs its runtime in the program too.
  list(APPEND IA_EXAMPLES_ENV "IA_EXAMPLES_CFLAGS=-fsanitize=address,undefined")
endif()

interop_test(interop.examples.build 180 examples_cells.sh build)
set_tests_properties(interop.examples.build PROPERTIES
  ENVIRONMENT "${IA_EXAMPLES_ENV}"
  FIXTURES_SETUP examples)
foreach(mode mqtt https event_loop event_loop_server psk)
  interop_test(interop.examples.${mode} 120 examples_cells.sh ${mode})
  set_tests_properties(interop.examples.${mode} PROPERTIES
    ENVIRONMENT "${IA_EXAMPLES_ENV}"
    FIXTURES_REQUIRED "pki;examples")
endforeach()
