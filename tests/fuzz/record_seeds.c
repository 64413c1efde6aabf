/* Writes the seed corpora of fuzz_client and fuzz_server: our client and
 * our server run a handshake in memory (HelloRetryRequest too), exchange
 * application data, a requested KeyUpdate and close_notify; each
 * direction's bytes are saved as a seed for the fuzzer that plays the
 * receiving side. Both ends draw from the same per-role deterministic
 * generators as the fuzzers (fuzz_common.h), so the seeds stay valid
 * handshakes for them.
 *
 *   record_seeds tests/fuzz/corpus   (writes corpus/client/ and corpus/server/)
 *
 * Rerun it when the handshake's wire format changes (a new extension, a
 * different flight layout), or the seeds stop reaching the deep states. */
#include "fuzz_common.h"

typedef struct {
    uint8_t *buf;
    size_t len, cap;
} log_buf;

typedef struct {
    iotls_conn *c;
    fuzz_rng *rng;
    log_buf sent;     /* everything it sent, in order */
    size_t delivered; /* bytes of sent the peer has taken */
} end;

static void log_append(log_buf *l, const uint8_t *p, size_t n)
{
    if (l->len + n > l->cap) {
        l->cap = (l->len + n) * 2;
        l->buf = realloc(l->buf, l->cap);
        FUZZ_REQUIRE(l->buf != NULL);
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
}

/* from's output onto its log, then as much of it as to takes. */
static int shuttle(end *from, end *to)
{
    size_t n = 0;
    const uint8_t *out;
    fuzz_rng_use(from->rng);
    while ((out = iotls_conn_output(from->c, &n)) != NULL && n > 0) {
        log_append(&from->sent, out, n);
        iotls_conn_output_consume(from->c, n);
    }
    fuzz_rng_use(to->rng);
    int progress = 0;
    while (from->delivered < from->sent.len) {
        size_t used = 0;
        int rc = iotls_conn_input(to->c, from->sent.buf + from->delivered,
                                  from->sent.len - from->delivered, &used);
        FUZZ_REQUIRE(rc == IOTLS_OK);
        from->delivered += used;
        if (used == 0)
            break;
        progress = 1;
    }
    return progress;
}

static void app_write(end *e, const char *text)
{
    size_t n = 0;
    fuzz_rng_use(e->rng);
    FUZZ_REQUIRE(iotls_conn_write(e->c, (const uint8_t *)text, strlen(text), &n) == IOTLS_OK);
    FUZZ_REQUIRE(n == strlen(text));
}

static void app_read(end *e, const char *want)
{
    uint8_t buf[256];
    size_t n = 0;
    fuzz_rng_use(e->rng);
    FUZZ_REQUIRE(iotls_conn_read(e->c, buf, sizeof buf, &n) == IOTLS_OK);
    FUZZ_REQUIRE(n == strlen(want) && memcmp(buf, want, n) == 0);
}

static void save(const char *dir, const char *who, const char *name, uint8_t selector,
                 const log_buf *l)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s.bin", dir, who, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    FUZZ_REQUIRE(fwrite(&selector, 1, 1, f) == 1);
    FUZZ_REQUIRE(fwrite(l->buf, 1, l->len, f) == l->len);
    FUZZ_REQUIRE(fclose(f) == 0);
    printf("%s (%zu bytes)\n", path, l->len + 1);
}

static void record(const char *dir, int variant, const char *tag)
{
    fuzz_rng cl_rng = {FUZZ_SEED_CLIENT}, sv_rng = {FUZZ_SEED_SERVER};
    iotls_config *scfg = fuzz_server_config(variant);
    iotls_config *ccfg = fuzz_client_config();
    void *cmem, *smem;
    end cl = {0}, sv = {0};
    cl.rng = &cl_rng;
    sv.rng = &sv_rng;
    fuzz_rng_use(&cl_rng);
    cl.c = fuzz_conn_new(ccfg, IOTLS_ROLE_CLIENT, &cmem);
    fuzz_rng_use(&sv_rng);
    sv.c = fuzz_conn_new(scfg, IOTLS_ROLE_SERVER, &smem);
    fuzz_rng_use(&cl_rng);
    FUZZ_REQUIRE(iotls_conn_start(cl.c) == IOTLS_OK);
    fuzz_rng_use(&sv_rng);
    FUZZ_REQUIRE(iotls_conn_start(sv.c) == IOTLS_OK);

    for (int i = 0; i < 20; i++) {
        int a = shuttle(&cl, &sv);
        int b = shuttle(&sv, &cl);
        if (!a && !b)
            break;
    }
    FUZZ_REQUIRE(iotls_conn_handshake_done(cl.c) && iotls_conn_handshake_done(sv.c));

    app_write(&cl, "GET / HTTP/1.1\r\nHost: fuzz.example\r\n\r\n");
    shuttle(&cl, &sv);
    app_read(&sv, "GET / HTTP/1.1\r\nHost: fuzz.example\r\n\r\n");
    app_write(&sv, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    shuttle(&sv, &cl);
    app_read(&cl, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

    /* A requested KeyUpdate: the server answers with its own. */
    fuzz_rng_use(&cl_rng);
    FUZZ_REQUIRE(iotls_conn_key_update(cl.c, 1) == IOTLS_OK);
    app_write(&cl, "after update");
    shuttle(&cl, &sv);
    app_read(&sv, "after update");
    app_write(&sv, "answered");
    shuttle(&sv, &cl);
    app_read(&cl, "answered");

    fuzz_rng_use(&cl_rng);
    FUZZ_REQUIRE(iotls_conn_close(cl.c) == IOTLS_OK);
    shuttle(&cl, &sv);
    fuzz_rng_use(&sv_rng);
    FUZZ_REQUIRE(iotls_conn_close(sv.c) == IOTLS_OK);
    shuttle(&sv, &cl);
    FUZZ_REQUIRE(iotls_conn_error(cl.c) == 0 && iotls_conn_error(sv.c) == 0);

    /* Selector: bit 0 the server variant, bits 1-7 the chunking seed. */
    static const uint8_t chunk_seeds[] = {0, 1, 42};
    for (size_t i = 0; i < sizeof chunk_seeds; i++) {
        uint8_t selector = (uint8_t)(chunk_seeds[i] << 1 | variant);
        char name[64];
        snprintf(name, sizeof name, "%s-chunks%u", tag, chunk_seeds[i]);
        save(dir, "client", name, selector, &sv.sent);
        save(dir, "server", name, selector, &cl.sent);
    }
    fuzz_rng_use(&cl_rng);
    fuzz_conn_free(cl.c, cmem);
    fuzz_rng_use(&sv_rng);
    fuzz_conn_free(sv.c, smem);
    iotls_random_override(NULL, NULL);
    free(cl.sent.buf);
    free(sv.sent.buf);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR (with client/ and server/ in it)\n", argv[0]);
        return 2;
    }
    record(argv[1], 0, "handshake");
    record(argv[1], 1, "hrr");
    return 0;
}
