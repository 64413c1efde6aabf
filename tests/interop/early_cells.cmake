# 0-RTT early data cells (early_cells.sh): our client with openssl s_server
# -early_data (accepted) and without (rejected, resent), openssl s_client
# -early_data with our server (accepted, then a replay refused), our client
# with our server; 16 KiB of 0-RTT from our client at our server and at
# s_server; the same with gnutls-serv --earlydata / without it and
# gnutls-cli --resume --earlydata. Included at the end of
# tests/interop/CMakeLists.txt.
if(TARGET iotls_cli)
  set(IA_EARLY_IOTLS $<TARGET_FILE:iotls_cli>)
else()
  set(IA_EARLY_IOTLS ${IA_IOTLS})
endif()
add_test(NAME interop.early COMMAND bash ${IA_DIR}/early_cells.sh)
set_tests_properties(interop.early PROPERTIES
  ENVIRONMENT "${IA_ENV};IOTLS=${IA_EARLY_IOTLS}"
  FIXTURES_REQUIRED pki
  TIMEOUT 180
  LABELS interop)
