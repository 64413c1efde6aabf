# `iotls demo` cells (demo_budget.sh): the demo's device runs the profile of
# apps/device_profile.h (small records the gateway keeps to, the gateway at
# 16384) and the README states its budget (interop.demo.profile, every
# build); its measured peak heap stays within that budget for both wake-ups
# (interop.demo.budget). Included at the end of tests/interop/CMakeLists.txt.
if(TARGET iotls_cli)
  set(IA_DEMO_IOTLS $<TARGET_FILE:iotls_cli>)
else()
  set(IA_DEMO_IOTLS ${IA_IOTLS})
endif()

add_test(NAME interop.demo.profile
         COMMAND bash ${IA_DIR}/demo_budget.sh profile ${CMAKE_SOURCE_DIR})
set_tests_properties(interop.demo.profile PROPERTIES
  ENVIRONMENT "IOTLS=${IA_DEMO_IOTLS}"
  TIMEOUT 120
  LABELS interop)

# The heap is counted by the demo's malloc wrapper (apps/memtrack.c), which
# stands aside under the sanitizers; the budget is mbedTLS's, the device's
# library (the OpenSSL provider is the gateway's, several times larger).
if(IOTLS_SANITIZE)
  message(STATUS "iotls: interop.demo.budget not registered (IOTLS_SANITIZE=ON: the sanitizer's allocator is in charge, the demo cannot count the heap)")
elseif(NOT IOTLS_CRYPTO STREQUAL "mbedtls")
  message(STATUS "iotls: interop.demo.budget not registered (the device's budget is for mbedTLS; IOTLS_CRYPTO=${IOTLS_CRYPTO} is the gateway's provider)")
else()
  add_test(NAME interop.demo.budget
           COMMAND bash ${IA_DIR}/demo_budget.sh budget ${CMAKE_SOURCE_DIR})
  set_tests_properties(interop.demo.budget PROPERTIES
    ENVIRONMENT "IOTLS=${IA_DEMO_IOTLS}"
    TIMEOUT 120
    LABELS interop)
endif()
