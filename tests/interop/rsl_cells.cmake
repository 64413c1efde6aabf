# Record size cells (rsl_cells.sh): --record-size on our client and server,
# record_size_limit (RFC 8449) against gnutls-serv and ourselves,
# max_fragment_length (RFC 6066) against openssl s_server / s_client, our
# client reassembling in its receive buffer (--reassemble-in-place, and the
# layout it refuses with internal_error), and a server that ignores both
# (record_overflow). Included at the end of
# tests/interop/CMakeLists.txt.
if(TARGET iotls_cli)
  set(IA_RSL_IOTLS $<TARGET_FILE:iotls_cli>)
else()
  set(IA_RSL_IOTLS ${IA_IOTLS})
endif()
add_test(NAME interop.rsl COMMAND bash ${IA_DIR}/rsl_cells.sh)
set_tests_properties(interop.rsl PROPERTIES
  ENVIRONMENT "${IA_ENV};IOTLS=${IA_RSL_IOTLS}"
  FIXTURES_REQUIRED pki
  TIMEOUT 240
  LABELS interop)
