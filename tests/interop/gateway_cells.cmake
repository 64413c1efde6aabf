# `iotls server` as a gateway (gateway_cells.sh): 500 clients at once,
# --max-connections, handshake and idle timeouts, SIGTERM draining, the
# poll(2) fallback. Needs iotls-load (-DIOTLS_BENCH=ON, which make test
# turns on). Included from CMakeLists.txt in this directory.
if(TARGET iotls_load)
  # The sanitizer build's handshakes are many times slower: fewer clients
  # keep the cell within its time.
  if(IOTLS_SANITIZE)
    set(IA_GATEWAY_CLIENTS 64)
  else()
    set(IA_GATEWAY_CLIENTS 500)
  endif()
  add_test(NAME interop.gateway COMMAND bash ${IA_DIR}/gateway_cells.sh)
  set_tests_properties(interop.gateway PROPERTIES
    ENVIRONMENT "${IA_ENV};IOTLS_LOAD=$<TARGET_FILE:iotls_load>;GATEWAY_CLIENTS=${IA_GATEWAY_CLIENTS}"
    FIXTURES_REQUIRED pki
    TIMEOUT 240
    LABELS interop)
endif()
