# The fleet cells (fleet_cells.sh): three `iotls server` behind HAProxy,
# sharing a ticket key file and, for 0-RTT anti-replay, one Redis. They need
# `iotls server --replay-redis`, built with -DIOTLS_REDIS=ON (make test turns
# it on); HAProxy and Redis come from scripts/deps.sh test. With the load
# generator built (-DIOTLS_BENCH=ON) it also runs through the balancer.
# Included from CMakeLists.txt in this directory.
if(IOTLS_REDIS)
  set(IA_FLEET_ENV "${IA_ENV}")
  if(TARGET iotls_load)
    list(APPEND IA_FLEET_ENV "IOTLS_LOAD=$<TARGET_FILE:iotls_load>")
  endif()
  add_test(NAME interop.fleet COMMAND bash ${IA_DIR}/fleet_cells.sh)
  set_tests_properties(interop.fleet PROPERTIES
    ENVIRONMENT "${IA_FLEET_ENV}"
    FIXTURES_REQUIRED pki
    TIMEOUT 180
    LABELS interop)
else()
  message(STATUS "iotls: interop.fleet left out: needs -DIOTLS_REDIS=ON (iotls server --replay-redis)")
endif()
