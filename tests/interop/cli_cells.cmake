# Command-line behaviour cells (cli_cells.sh): `iotls client` options (pins,
# --insecure, key logs, -v, --get, exit codes and one-line errors) and
# `iotls server` (many clients, concurrency, SIGINT/SIGTERM, --http,
# --keylog, -v), against openssl s_server / s_client and each other.
# Included at the end of tests/interop/CMakeLists.txt.

# These cells test our command itself, never a stand-in client.
if(TARGET iotls_cli)
  set(IA_CLI_IOTLS $<TARGET_FILE:iotls_cli>)
else()
  set(IA_CLI_IOTLS ${IA_IOTLS})
endif()

foreach(group client server)
  set(name interop.cli.${group})
  add_test(NAME ${name} COMMAND bash ${IA_DIR}/cli_cells.sh ${group})
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "${IA_ENV};IOTLS=${IA_CLI_IOTLS}"
    FIXTURES_REQUIRED pki
    TIMEOUT 180
    LABELS interop)
endforeach()
