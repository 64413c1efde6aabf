/* libFuzzer target: a server iotls_conn fed the fuzz input as the client's
 * byte stream, in input-chosen chunks (format: fuzz_common.h). Randomness
 * is deterministic and reset for every input, so the recorded seeds in
 * corpus/server/ (record_seeds.c) carry a complete handshake, application
 * data, a KeyUpdate and close_notify that this server accepts. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const iotls_config *cfg = fuzz_server_config(data[0] & 1);
    fuzz_rng rng = {FUZZ_SEED_SERVER};
    fuzz_rng_use(&rng);
    void *mem;
    iotls_conn *c = fuzz_conn_new(cfg, IOTLS_ROLE_SERVER, &mem);
    FUZZ_REQUIRE(iotls_conn_start(c) == IOTLS_OK);
    fuzz_feed(c, data + 1, size - 1, data[0] >> 1);
    fuzz_report("server", c);
    fuzz_conn_free(c, mem);
    iotls__random_override(NULL, NULL);
    return 0;
}
