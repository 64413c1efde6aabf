/* The crypto operations of one iotls full handshake (TLS_AES_128_GCM_SHA256,
 * x25519 or with --group secp256r1, ECDSA P-256 server certificate verified
 * by the client), both sides, done directly through the provider interface
 * and nothing else:
 *   client and server: a key pair of the group and the shared secret each;
 *   server: one ECDSA P-256 signature (CertificateVerify);
 *   client: the certificate parse, the chain check (one ECDSA verify of the
 *     certificate's signature) and one ECDSA verify of CertificateVerify;
 *   both: the SHA-256 transcript of the handshake messages (lengths from a
 *     traced iotls handshake) with the snapshots the key schedule needs,
 *     the RFC 8446 key schedule (HKDF), the Finished HMACs, the traffic keys,
 *     and the AEAD sealing and opening of the protected handshake records;
 *   the random values of the hellos.
 * `iotls bench --callgrind cryptoonly` counts its instructions: the floor
 * iotls' own handshake is measured against (issue 7). Set-up work that a
 * configured iotls also does once (loading the key and the CA) is not in it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

#define H 32 /* SHA-256 */
#define KEY_LEN 16
#define MSG_CAP 16384

typedef struct {
    iotls_x509 trust;
    iotls_pkey key;
    uint8_t *leaf_der;
    size_t leaf_len;
    bench_msg_trace msgs;
    uint16_t group; /* the key exchange: IOTLS_GROUP_X25519 or IOTLS_GROUP_SECP256R1 */
    const char *server_name;
    uint8_t zeros[MSG_CAP]; /* message bytes: their values do not change the cost */
    uint8_t record[MSG_CAP + 64];
} crypto_ctx;

typedef struct {
    iotls_hash_ctx transcript;
    iotls_kex_ctx kex;
    uint8_t pub[IOTLS_MAX_KEX_PUBLIC_LEN];
    size_t pub_len;
    uint8_t dhe[IOTLS_MAX_KEX_SECRET_LEN];
    size_t dhe_len;
    uint8_t c_hs[H], s_hs[H], c_ap[H], s_ap[H], exp_master[H], res_master[H];
    iotls_aead_ctx hs_write, hs_read, ap_write, ap_read;
    uint8_t hs_write_iv[IOTLS_AEAD_NONCE_LEN], hs_read_iv[IOTLS_AEAD_NONCE_LEN];
} side;

/* HKDF-Expand-Label (RFC 8446 section 7.1): only the label encoding is
 * done here; the HKDF is the provider's. */
static int expand_label(const uint8_t *secret, const char *label, const uint8_t *context,
                        size_t context_len, uint8_t *out, size_t out_len)
{
    uint8_t info[2 + 1 + 255 + 1 + 255];
    size_t label_len = strlen(label), n = 0;
    info[n++] = (uint8_t)(out_len >> 8);
    info[n++] = (uint8_t)out_len;
    info[n++] = (uint8_t)(6 + label_len);
    memcpy(info + n, "tls13 ", 6);
    memcpy(info + n + 6, label, label_len);
    n += 6 + label_len;
    info[n++] = (uint8_t)context_len;
    if (context_len)
        memcpy(info + n, context, context_len);
    n += context_len;
    return iotls__hkdf_expand(IOTLS_HASH_SHA256, secret, H, info, n, out, out_len) == IOTLS_OK;
}

static int traffic_keys(const uint8_t *secret, iotls_aead_ctx *aead, uint8_t *iv_out)
{
    uint8_t key[KEY_LEN], iv[IOTLS_AEAD_NONCE_LEN];
    int ok = expand_label(secret, "key", NULL, 0, key, sizeof key) &&
             expand_label(secret, "iv", NULL, 0, iv, sizeof iv) &&
             iotls__aead_init(aead, IOTLS_AEAD_AES_128_GCM, key, sizeof key) == IOTLS_OK;
    if (iv_out)
        memcpy(iv_out, iv, sizeof iv);
    iotls__wipe(key, sizeof key);
    return ok;
}

/* Early secret (no PSK), handshake secret and both handshake traffic
 * secrets and keys, given Hash(ClientHello..ServerHello). */
static int handshake_schedule(side *s, const uint8_t th[H], uint8_t hs_secret[H], int is_server)
{
    uint8_t zeros[H] = {0}, early[H], empty[H], derived[H];
    int ok = iotls__hkdf_extract(IOTLS_HASH_SHA256, NULL, 0, zeros, H, early) == IOTLS_OK &&
             iotls__hash(IOTLS_HASH_SHA256, NULL, 0, empty) == IOTLS_OK &&
             expand_label(early, "derived", empty, H, derived, H) &&
             iotls__hkdf_extract(IOTLS_HASH_SHA256, derived, H, s->dhe, s->dhe_len, hs_secret) ==
                 IOTLS_OK &&
             expand_label(hs_secret, "c hs traffic", th, H, s->c_hs, H) &&
             expand_label(hs_secret, "s hs traffic", th, H, s->s_hs, H);
    ok = ok && traffic_keys(is_server ? s->s_hs : s->c_hs, &s->hs_write, s->hs_write_iv);
    ok = ok && traffic_keys(is_server ? s->c_hs : s->s_hs, &s->hs_read, s->hs_read_iv);
    return ok;
}

static int master_schedule(side *s, const uint8_t hs_secret[H], const uint8_t th[H])
{
    uint8_t zeros[H] = {0}, empty[H], derived[H], master[H];
    int ok = iotls__hash(IOTLS_HASH_SHA256, NULL, 0, empty) == IOTLS_OK &&
             expand_label(hs_secret, "derived", empty, H, derived, H) &&
             iotls__hkdf_extract(IOTLS_HASH_SHA256, derived, H, zeros, H, master) == IOTLS_OK &&
             expand_label(master, "c ap traffic", th, H, s->c_ap, H) &&
             expand_label(master, "s ap traffic", th, H, s->s_ap, H) &&
             expand_label(master, "exp master", th, H, s->exp_master, H);
    /* kept in master for the resumption secret */
    memcpy(s->res_master, master, H);
    return ok;
}

static int finished(const uint8_t base[H], const uint8_t th[H], uint8_t out[H])
{
    uint8_t key[H];
    int ok = expand_label(base, "finished", NULL, 0, key, H) &&
             iotls__hmac(IOTLS_HASH_SHA256, key, H, th, H, out) == IOTLS_OK;
    iotls__wipe(key, sizeof key);
    return ok;
}

static int resumption(side *s, const uint8_t th[H])
{
    uint8_t out[H];
    return expand_label(s->res_master, "res master", th, H, out, H);
}

static size_t cv_content(const uint8_t th[H], uint8_t *out)
{
    static const char ctx_str[] = "TLS 1.3, server CertificateVerify";
    memset(out, 0x20, 64);
    memcpy(out + 64, ctx_str, sizeof ctx_str); /* with its 0 byte */
    memcpy(out + 64 + sizeof ctx_str, th, H);
    return 64 + sizeof ctx_str + H;
}

static void nonce_for(const uint8_t iv[IOTLS_AEAD_NONCE_LEN], uint64_t seq, uint8_t *nonce)
{
    memcpy(nonce, iv, IOTLS_AEAD_NONCE_LEN);
    for (int i = 0; i < 8; i++)
        nonce[IOTLS_AEAD_NONCE_LEN - 1 - i] ^= (uint8_t)(seq >> (8 * i));
}

/* Seals len bytes (+1 content type) as record seq with w, then opens it
 * with r, as the peer does. */
static int seal_open(crypto_ctx *x, iotls_aead_ctx *w, const uint8_t *w_iv, iotls_aead_ctx *r,
                     const uint8_t *r_iv, uint64_t seq, size_t len)
{
    uint8_t nonce[IOTLS_AEAD_NONCE_LEN], header[5];
    size_t inner = len + 1, body = inner + IOTLS_AEAD_TAG_LEN;
    header[0] = 23;
    header[1] = 3;
    header[2] = 3;
    header[3] = (uint8_t)(body >> 8);
    header[4] = (uint8_t)body;
    memset(x->record, 0, inner);
    x->record[len] = 22;
    nonce_for(w_iv, seq, nonce);
    if (iotls__aead_seal(w, nonce, header, 5, x->record, inner, x->record) != IOTLS_OK)
        return 0;
    nonce_for(r_iv, seq, nonce);
    return iotls__aead_open(r, nonce, header, 5, x->record, body, x->record) == IOTLS_OK;
}

static int hash_msg(side *s, const crypto_ctx *x, size_t i)
{
    return iotls__hash_update(&s->transcript, x->zeros, x->msgs.len[i]) == IOTLS_OK;
}

static void side_free(side *s)
{
    iotls__hash_free(&s->transcript);
    iotls__kex_free(&s->kex);
    iotls__aead_free(&s->hs_write);
    iotls__aead_free(&s->hs_read);
    iotls__aead_free(&s->ap_write);
    iotls__aead_free(&s->ap_read);
    iotls__wipe(s, sizeof *s);
}

int bench_cryptoonly_handshake(void *p)
{
    crypto_ctx *x = p;
    const bench_msg_trace *m = &x->msgs;
    side *c = calloc(1, sizeof *c), *s = calloc(1, sizeof *s);
    iotls_x509 peer;
    iotls__x509_init(&peer);
    uint8_t rnd[32], th[H], th_cert[H], c_hs_secret[H], s_hs_secret[H];
    uint8_t content[160], sig[IOTLS_MAX_SIGNATURE_LEN], sfin[H], cfin[H], check[H];
    size_t content_len, sig_len = 0;
    int ok = c && s;
    size_t last = m->count - 1; /* the client's Finished */

    /* Client: hello randoms, key share, ClientHello into the transcript. */
    ok = ok && iotls__random(rnd, 32) == IOTLS_OK && iotls__random(rnd, 32) == IOTLS_OK;
    ok = ok &&
         iotls__kex_generate(&c->kex, x->group, c->pub, sizeof c->pub, &c->pub_len) == IOTLS_OK;
    ok = ok && iotls__hash_init(&c->transcript, IOTLS_HASH_SHA256) == IOTLS_OK && hash_msg(c, x, 0);

    /* Server: its share, the secret, ServerHello, handshake keys. */
    ok = ok && iotls__random(rnd, 32) == IOTLS_OK;
    ok = ok && iotls__hash_init(&s->transcript, IOTLS_HASH_SHA256) == IOTLS_OK && hash_msg(s, x, 0);
    ok = ok &&
         iotls__kex_generate(&s->kex, x->group, s->pub, sizeof s->pub, &s->pub_len) == IOTLS_OK;
    ok = ok && iotls__kex_derive(&s->kex, c->pub, c->pub_len, s->dhe, sizeof s->dhe, &s->dhe_len) ==
                   IOTLS_OK;
    ok = ok && hash_msg(s, x, 1) && iotls__hash_snapshot(&s->transcript, th) == IOTLS_OK;
    ok = ok && handshake_schedule(s, th, s_hs_secret, 1);
    /* EncryptedExtensions .. Certificate, CertificateVerify, Finished. */
    size_t i = 2;
    for (; ok && i < last && m->type[i] != 15; i++)
        ok = hash_msg(s, x, i);
    ok = ok && iotls__hash_snapshot(&s->transcript, th_cert) == IOTLS_OK;
    content_len = cv_content(th_cert, content);
    ok = ok && iotls__pkey_sign(&x->key, IOTLS_SIG_ECDSA_SECP256R1_SHA256, content, content_len,
                                sig, sizeof sig, &sig_len) == IOTLS_OK;
    ok = ok && hash_msg(s, x, i) && iotls__hash_snapshot(&s->transcript, th) == IOTLS_OK;
    ok = ok && finished(s->s_hs, th, sfin) && hash_msg(s, x, i + 1);
    ok = ok && iotls__hash_snapshot(&s->transcript, th) == IOTLS_OK;
    ok = ok && master_schedule(s, s_hs_secret, th);
    ok =
        ok && traffic_keys(s->s_ap, &s->ap_write, NULL) && traffic_keys(s->c_ap, &s->ap_read, NULL);

    /* Client: the secret, handshake keys. */
    ok = ok && iotls__kex_derive(&c->kex, s->pub, s->pub_len, c->dhe, sizeof c->dhe, &c->dhe_len) ==
                   IOTLS_OK;
    ok = ok && hash_msg(c, x, 1) && iotls__hash_snapshot(&c->transcript, th) == IOTLS_OK;
    ok = ok && handshake_schedule(c, th, c_hs_secret, 0);

    /* The server's protected flight: sealed by the server, opened by the
     * client, in as many records as iotls used. */
    size_t flight = 0;
    for (size_t k = 2; k < last; k++)
        flight += m->len[k];
    uint64_t records = m->server_records ? m->server_records : 1;
    for (uint64_t r = 0; ok && r < records; r++) {
        size_t part = flight / records + (r + 1 == records ? flight % records : 0);
        ok = seal_open(x, &s->hs_write, s->hs_write_iv, &c->hs_read, c->hs_read_iv, r, part);
    }

    /* Client: the certificate, its chain, CertificateVerify, Finished. */
    size_t k = 2;
    for (; ok && k < last && m->type[k] != 11; k++)
        ok = hash_msg(c, x, k);
    ok = ok && iotls__x509_add_der(&peer, x->leaf_der, x->leaf_len) == IOTLS_OK;
    iotls_x509_policy policy = {.trust = &x->trust, .host = x->server_name, .is_server_cert = 1};
    ok = ok && iotls__x509_verify(&peer, &policy) == IOTLS_OK;
    ok = ok && hash_msg(c, x, k) && iotls__hash_snapshot(&c->transcript, th_cert) == IOTLS_OK;
    content_len = cv_content(th_cert, content);
    ok = ok && iotls__x509_verify_signature(&peer, IOTLS_SIG_ECDSA_SECP256R1_SHA256, content,
                                            content_len, sig, sig_len) == IOTLS_OK;
    ok = ok && hash_msg(c, x, k + 1) && iotls__hash_snapshot(&c->transcript, th) == IOTLS_OK;
    ok = ok && finished(c->s_hs, th, check) && iotls__ct_memcmp(check, sfin, H) == 0;
    ok = ok && hash_msg(c, x, k + 2) && iotls__hash_snapshot(&c->transcript, th) == IOTLS_OK;
    ok = ok && master_schedule(c, c_hs_secret, th);
    ok =
        ok && traffic_keys(c->c_ap, &c->ap_write, NULL) && traffic_keys(c->s_ap, &c->ap_read, NULL);
    ok = ok && finished(c->c_hs, th, cfin) && hash_msg(c, x, last);
    ok = ok &&
         seal_open(x, &c->hs_write, c->hs_write_iv, &s->hs_read, s->hs_read_iv, 0, m->len[last]);
    ok = ok && iotls__hash_snapshot(&c->transcript, th) == IOTLS_OK && resumption(c, th);

    /* Server: the client's Finished. */
    uint8_t th_sf[H];
    ok = ok && iotls__hash_snapshot(&s->transcript, th_sf) == IOTLS_OK;
    ok = ok && finished(s->c_hs, th_sf, check) && iotls__ct_memcmp(check, cfin, H) == 0;
    ok = ok && hash_msg(s, x, last) && iotls__hash_snapshot(&s->transcript, th) == IOTLS_OK &&
         resumption(s, th);

    iotls__x509_free(&peer);
    if (c)
        side_free(c);
    if (s)
        side_free(s);
    free(c);
    free(s);
    return ok;
}

void bench_cryptoonly_teardown(void *p)
{
    crypto_ctx *x = p;
    if (!x)
        return;
    iotls__x509_free(&x->trust);
    iotls__pkey_free(&x->key);
    free(x->leaf_der);
    free(x);
}

void *bench_cryptoonly_setup(const bench_params *p, const bench_msg_trace *msgs)
{
    crypto_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    iotls__x509_init(&x->trust);
    iotls__pkey_init(&x->key);
    x->msgs = *msgs;
    x->server_name = p->server_name;
    x->group = strcmp(p->group, "secp256r1") == 0 ? IOTLS_GROUP_SECP256R1 : IOTLS_GROUP_X25519;
    iotls_x509 leaf;
    iotls__x509_init(&leaf);
    const uint8_t *der = NULL;
    int ok = msgs->count >= 5 && msgs->type[msgs->count - 1] == 20;
    for (size_t i = 0; ok && i < msgs->count; i++)
        ok = msgs->len[i] <= MSG_CAP;
    ok = ok && iotls__x509_load_mem(&x->trust, (const uint8_t *)p->ca_cert_pem,
                                    strlen(p->ca_cert_pem) + 1) == IOTLS_OK;
    ok = ok && iotls__pkey_load_mem(&x->key, (const uint8_t *)p->key_pem, strlen(p->key_pem) + 1,
                                    NULL) == IOTLS_OK;
    ok = ok && iotls__x509_load_mem(&leaf, (const uint8_t *)p->cert_pem, strlen(p->cert_pem) + 1) ==
                   IOTLS_OK;
    ok = ok && iotls__x509_der(&leaf, 0, &der, &x->leaf_len) == IOTLS_OK;
    if (ok && (x->leaf_der = malloc(x->leaf_len)) != NULL)
        memcpy(x->leaf_der, der, x->leaf_len);
    iotls__x509_free(&leaf);
    if (!ok || !x->leaf_der) {
        fprintf(stderr, "iotls bench: crypto-only setup failed\n");
        bench_cryptoonly_teardown(x);
        return NULL;
    }
    return x;
}
