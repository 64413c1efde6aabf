/* The OpenSSL provider's cache of parsed peer certificates
 * (src/crypto/openssl/x509.c), through whole handshakes in memory:
 *  - on (the default): a new server certificate is parsed by the first
 *    handshake and taken from the cache by the following ones;
 *  - off at run time (iotls__ossl_cert_cache_set_enabled(0), what
 *    `iotls bench` does for its "new peer certificate every handshake"
 *    figures): every handshake parses it and none uses the cache, even
 *    when the cache holds it;
 *  - on again: the cached one is used again;
 *  - built out (-DIOTLS_OSSL_CERT_CACHE=0): every handshake parses it,
 *    whatever the run-time switch says.
 * OpenSSL provider builds only (tests/CMakeLists.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "ossl_cert_cache.h"
#include "enginepair.h"
#include "testlib.h"

#define ROUNDS 5

static char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096];
static const char *g_name = "cache.test";
static iotls_config *g_client, *g_server;

/* One full handshake, the client verifying the server's certificate. */
static int handshake(void)
{
    iotls_conn *cl = tl_conn_new(g_client, IOTLS_ROLE_CLIENT, g_name);
    iotls_conn *sv = tl_conn_new(g_server, IOTLS_ROLE_SERVER, NULL);
    tl_wire *to_sv = calloc(1, sizeof *to_sv), *to_cl = calloc(1, sizeof *to_cl);
    int ok = cl && sv && to_sv && to_cl && iotls_conn_start(cl) == IOTLS_OK &&
             iotls_conn_start(sv) == IOTLS_OK;
    for (int i = 0;
         ok && i < 20 && !(iotls_conn_handshake_done(cl) && iotls_conn_handshake_done(sv)); i++)
        ok = tl_shuttle(cl, to_sv, sv, NULL) >= 0 && tl_shuttle(sv, to_cl, cl, NULL) >= 0;
    iotls_info info;
    ok = ok && iotls_conn_handshake_done(cl) && iotls_conn_handshake_done(sv) &&
         iotls_conn_info(cl, &info) == IOTLS_OK && info.peer_cert_verified == 1;
    tl_conn_free(cl);
    tl_conn_free(sv);
    free(to_sv);
    free(to_cl);
    return ok;
}

/* ROUNDS handshakes; what they parsed and took from the cache. */
static void rounds(unsigned long *parsed, unsigned long *hits)
{
    unsigned long p0 = 0, h0 = 0, p1 = 0, h1 = 0;
    iotls__ossl_cert_cache_counts(&p0, &h0);
    for (int i = 0; i < ROUNDS; i++)
        CHECK(handshake());
    iotls__ossl_cert_cache_counts(&p1, &h1);
    *parsed = p1 - p0;
    *hits = h1 - h0;
}

static void expect(const char *what, int cached, unsigned long parsed, unsigned long hits,
                   unsigned long want_parsed, unsigned long want_hits)
{
    CHECK(parsed == want_parsed && hits == want_hits);
    if (parsed != want_parsed || hits != want_hits)
        fprintf(stderr, "%s (cache %s): %lu parsed, %lu from the cache; want %lu and %lu\n", what,
                cached ? "on" : "off", parsed, hits, want_parsed, want_hits);
}

int main(void)
{
    iotls_cert_spec leaf = {.subject = "CN=cache", .dns_names = "cache.test", .for_server = 1};
    CHECK_OK(tl_make_pki("CN=cert cache test CA", &leaf, ca_key, ca_cert, leaf_key, leaf_cert,
                         sizeof ca_key));
    g_client = iotls_config_new();
    g_server = iotls_config_new();
    CHECK(g_client && g_server);
    if (!g_client || !g_server)
        return tl_finish("ossl_cert_cache");
    CHECK_OK(iotls_config_set_ca_mem(g_client, (const uint8_t *)ca_cert, strlen(ca_cert)));
    CHECK_OK(iotls_config_set_cert_mem(g_server, (const uint8_t *)leaf_cert, strlen(leaf_cert),
                                       (const uint8_t *)leaf_key, strlen(leaf_key)));
    int built = IOTLS_OSSL_CERT_CACHE > 0;
    CHECK(iotls__ossl_cert_cache_enabled() == built);
    if (!built)
        printf("cache built out (IOTLS_OSSL_CERT_CACHE=0): every handshake must parse\n");
    unsigned long parsed, hits;

    /* Off first, so the certificate is not in the cache: off must not put
     * it there either. */
    iotls__ossl_cert_cache_set_enabled(0);
    CHECK(iotls__ossl_cert_cache_enabled() == 0);
    rounds(&parsed, &hits);
    expect("new certificate", 0, parsed, hits, ROUNDS, 0);

    /* On: one parse, then the cache. */
    iotls__ossl_cert_cache_set_enabled(1);
    CHECK(iotls__ossl_cert_cache_enabled() == built);
    rounds(&parsed, &hits);
    expect("new certificate", built, parsed, hits, built ? 1 : ROUNDS, built ? ROUNDS - 1 : 0);

    /* Off with the certificate in the cache: still parsed every time. */
    iotls__ossl_cert_cache_set_enabled(0);
    rounds(&parsed, &hits);
    expect("cached certificate", 0, parsed, hits, ROUNDS, 0);

    /* On again: what the cache held is used again. */
    iotls__ossl_cert_cache_set_enabled(1);
    rounds(&parsed, &hits);
    expect("cached certificate", built, parsed, hits, built ? 0 : ROUNDS, built ? ROUNDS : 0);

    iotls_config_free(g_client);
    iotls_config_free(g_server);
    return tl_finish("ossl_cert_cache");
}
