# External PSK and KeyUpdate cells with OpenSSL, GnuTLS and between our own
# client and server. Included from CMakeLists.txt in this directory.
interop_test(interop.psk 240 psk_cells.sh)
