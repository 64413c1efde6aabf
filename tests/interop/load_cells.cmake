# iotls-load (bench/load.c) cells: the load generator against our server and
# openssl s_server. Registered only when the benchmark is built
# (-DIOTLS_BENCH=ON, which make test turns on). Included from CMakeLists.txt
# in this directory.
if(TARGET iotls_load)
  add_test(NAME interop.load COMMAND bash ${IA_DIR}/load_cells.sh)
  set_tests_properties(interop.load PROPERTIES
    ENVIRONMENT "${IA_ENV};IOTLS_LOAD=$<TARGET_FILE:iotls_load>"
    FIXTURES_REQUIRED pki
    TIMEOUT 180
    LABELS interop)
endif()
