/* libFuzzer target: the session blob loader (src/session.c). The input is
 * a stored blob, loaded plain (SHA-256 trailer) and keyed (HMAC trailer
 * under a fixed device key) at a fixed clock; whatever loads must save
 * again and load back to the same fields, so save and load agree on the
 * format. A third load gets the input with its trailer replaced by the
 * right SHA-256, so mutated fields reach the checks behind the digest
 * (which a mutation otherwise breaks first). Seeds: corpus/session/ (record_seeds.c writes them).
 */
#include "fuzz_common.h"
#include "iotls/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const iotls_session *a, const iotls_session *b)
{
    FUZZ_REQUIRE(a->suite == b->suite && a->lifetime == b->lifetime && a->age_add == b->age_add &&
                 a->received_ms == b->received_ms && a->max_early_data == b->max_early_data);
    FUZZ_REQUIRE(a->psk_len == b->psk_len && memcmp(a->psk, b->psk, a->psk_len) == 0);
    FUZZ_REQUIRE(a->ticket_len == b->ticket_len &&
                 memcmp(a->ticket, b->ticket, a->ticket_len) == 0);
    FUZZ_REQUIRE(strcmp(a->server_name, b->server_name) == 0);
}

/* Loads data with key (NULL: plain); on success saves and reloads. */
static void load_roundtrip(const uint8_t *key, size_t key_len, const uint8_t *data, size_t size)
{
    static iotls_session first, again;
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    int rc = iotls_session_load_keyed(&first, key, key_len, data, size, FUZZ_SESSION_NOW_MS);
    FUZZ_REQUIRE(rc == IOTLS_OK || rc == IOTLS_ERR_SESSION_INVALID ||
                 rc == IOTLS_ERR_SESSION_EXPIRED);
    if (rc != IOTLS_OK)
        return;
    FUZZ_REQUIRE(first.psk_len > 0 && first.psk_len <= IOTLS_SESSION_MAX_PSK);
    FUZZ_REQUIRE(first.ticket_len > 0 && first.ticket_len <= IOTLS_SESSION_MAX_TICKET);
    FUZZ_REQUIRE(strlen(first.server_name) <= IOTLS_SESSION_MAX_NAME);
    size_t len = 0;
    FUZZ_REQUIRE(iotls_session_save_keyed(&first, key, key_len, blob, sizeof blob, &len) ==
                 IOTLS_OK);
    /* The format has one encoding per session, so the blob comes back. */
    FUZZ_REQUIRE(len == size && memcmp(blob, data, size) == 0);
    FUZZ_REQUIRE(iotls_session_load_keyed(&again, key, key_len, blob, len, FUZZ_SESSION_NOW_MS) ==
                 IOTLS_OK);
    check_same(&first, &again);
    iotls_session_wipe(&first);
    iotls_session_wipe(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t device_key[] = FUZZ_SESSION_KEY;
    load_roundtrip(NULL, 0, data, size);
    load_roundtrip(device_key, sizeof device_key, data, size);
    if (size >= 32 && size <= IOTLS_SESSION_MAX_BLOB + 64) {
        uint8_t *fixed = malloc(size);
        FUZZ_REQUIRE(fixed != NULL);
        memcpy(fixed, data, size - 32);
        FUZZ_REQUIRE(iotls__hash(IOTLS_HASH_SHA256, data, size - 32, fixed + size - 32) ==
                     IOTLS_OK);
        load_roundtrip(NULL, 0, fixed, size);
        free(fixed);
    }
    return 0;
}
