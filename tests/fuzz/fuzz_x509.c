/* libFuzzer target for certificate and key loading (the provider's
 * iotls__x509_load_mem, iotls__x509_add_der, iotls__pkey_load_mem), plus the
 * read-only queries the engine and the apps run on a peer's chain.
 *
 * Byte 0 picks the loader (0: PEM/DER chain, 1: one DER certificate, 2:
 * private key without password, 3: private key with password "fuzz"), the
 * rest is the data. Whatever loads must answer every query without
 * crashing; a DER view must be non-empty and re-adding it must succeed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "iotls/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_x509: %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void query_chain(const iotls_x509 *chain)
{
    size_t count = iotls__x509_count(chain);
    char text[512];
    uint8_t spki[32];
    for (size_t i = 0; i < count; i++) {
        const uint8_t *der = NULL;
        size_t len = 0;
        REQUIRE(iotls__x509_der(chain, i, &der, &len) == IOTLS_OK);
        REQUIRE(der != NULL && len > 0);
        iotls_x509 again;
        iotls__x509_init(&again);
        REQUIRE(iotls__x509_add_der(&again, der, len) == IOTLS_OK);
        REQUIRE(iotls__x509_count(&again) == 1);
        iotls__x509_free(&again);
        iotls__x509_subject(chain, i, text, sizeof text);
        iotls__x509_issuer(chain, i, text, sizeof text);
        iotls__x509_key_desc(chain, i, text, sizeof text);
    }
    if (count == 0)
        return;
    iotls__x509_sans(chain, text, sizeof text);
    iotls__x509_spki_sha256(chain, spki);
    static const uint16_t schemes[] = {IOTLS_SIG_ECDSA_SECP256R1_SHA256,
                                       IOTLS_SIG_ECDSA_SECP384R1_SHA384,
                                       IOTLS_SIG_RSA_PSS_RSAE_SHA256, IOTLS_SIG_RSA_PKCS1_SHA256};
    static const uint8_t msg[] = "fuzz";
    static const uint8_t sig[72] = {0x30, 0x46, 0x02, 0x21, 0x00};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        iotls__x509_key_fits(chain, schemes[i]);
        iotls__x509_verify_signature(chain, schemes[i], msg, sizeof msg, sig, sizeof sig);
    }
    /* The chain as its own trust anchor: exercises path building. */
    iotls_x509_policy policy = {
        .trust = chain, .host = "fuzz.example", .is_server_cert = 1, .now = 1700000000};
    iotls__x509_verify_explain(chain, &policy, text, sizeof text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* An exact-size copy, so any over-read is caught. */
    size_t len = size - 1;
    uint8_t *copy = malloc(len ? len : 1);
    REQUIRE(copy != NULL);
    memcpy(copy, data + 1, len);
    switch (data[0] & 3) {
    case 0:
    case 1: {
        iotls_x509 chain;
        iotls__x509_init(&chain);
        int rc = (data[0] & 3) == 0 ? iotls__x509_load_mem(&chain, copy, len)
                                    : iotls__x509_add_der(&chain, copy, len);
        if (rc == IOTLS_OK)
            REQUIRE(iotls__x509_count(&chain) > 0);
        query_chain(&chain);
        iotls__x509_free(&chain);
        break;
    }
    default: {
        iotls_pkey key;
        iotls__pkey_init(&key);
        if (iotls__pkey_load_mem(&key, copy, len, (data[0] & 3) == 3 ? "fuzz" : NULL) == IOTLS_OK) {
            static const uint16_t schemes[] = {IOTLS_SIG_ECDSA_SECP256R1_SHA256,
                                               IOTLS_SIG_RSA_PSS_RSAE_SHA256};
            for (size_t i = 0; i < 2; i++)
                iotls__pkey_can_sign(&key, schemes[i]);
        }
        iotls__pkey_free(&key);
        break;
    }
    }
    free(copy);
    return 0;
}
