# Revocation cells (crl_cells.sh): our client and server with --crl against
# openssl s_server / s_client -crl_check, with a CA and CRLs the script makes
# with `openssl ca` (crl_pki.sh). Included from CMakeLists.txt in this
# directory; client certificates make it a full-feature cell.
if(IA_ALL_FEATURES)
  interop_test(interop.crl 180 crl_cells.sh)
endif()
