# Session resumption cells (tickets, PSK resumption) with OpenSSL and between
# our own client and server. Included from CMakeLists.txt in this directory.
interop_test(interop.resume 180 resume_cells.sh)
