/* libFuzzer target: a client iotls_conn (certificate verification off, so
 * CertificateVerify, Finished and the post-handshake messages are
 * reachable) fed the fuzz input as the server's byte stream, in
 * input-chosen chunks (format: fuzz_common.h; bit 0 of the selector picks
 * reassembly in the record buffer, fuzz_client_config). Randomness is deterministic and reset for
 * every input, so the client always sends the ClientHello that the recorded server streams in
 * corpus/client/ (record_seeds.c) answer. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const iotls_config *cfg = fuzz_client_config(data[0]);
    fuzz_rng rng = {FUZZ_SEED_CLIENT};
    fuzz_rng_use(&rng);
    void *mem;
    iotls_conn *c = fuzz_conn_new(cfg, IOTLS_ROLE_CLIENT, &mem);
    FUZZ_REQUIRE(iotls_conn_start(c) == IOTLS_OK);
    fuzz_feed(c, data + 1, size - 1, data[0] >> 1);
    fuzz_report("client", c);
    fuzz_conn_free(c, mem);
    iotls__random_override(NULL, NULL);
    return 0;
}
