# Server-side interop cells: our `iotls server` against the peers' clients
# (openssl s_client, gnutls-cli, wolfssl_peer client) and our own client.
# Included at the end of tests/interop/CMakeLists.txt. One test per
# (client peer, server certificate) runs the 3 suites x 3 groups matrix; one
# per peer runs HRR (with and without --hrr-cookie), client auth, TLS
# 1.2-only client and 1 MiB echo.

# The server under test is always our command, even when IOTLS_INTEROP_CLIENT
# swaps IOTLS for a stand-in client (harness self-check).
if(TARGET iotls_cli)
  set(IA_SRV_IOTLS $<TARGET_FILE:iotls_cli>)
else()
  set(IA_SRV_IOTLS ${IA_IOTLS})
endif()

foreach(peer openssl gnutls wolfssl iotls)
  foreach(set ecdsa-p256 ecdsa-p384 rsa2048 chain features ccm)
    if(set STREQUAL "features" AND NOT IA_ALL_FEATURES)
      continue() # HRR, client auth, ... : see IA_ALL_FEATURES in CMakeLists.txt
    endif()
    set(name interop.server.${peer}.${set})
    add_test(NAME ${name} COMMAND bash ${IA_DIR}/server_cells.sh ${peer} ${set})
    set_tests_properties(${name} PROPERTIES
      ENVIRONMENT "${IA_ENV};IA_IOTLS_SERVER=${IA_SRV_IOTLS}"
      FIXTURES_REQUIRED pki
      TIMEOUT 120
      LABELS interop)
  endforeach()
endforeach()
