/* `iotls bench`: TLS 1.3 handshakes of three kinds (full with a
 * certificate, resumed from a ticket, external PSK) and bulk transfer of
 * iotls, OpenSSL, wolfSSL and GnuTLS side by side in one run, same suite,
 * group, certificate and PSK, client and server in one process over a
 * socketpair with one thread per side. A handshake counts only when the
 * stack reports it was of the kind measured (resumed, PSK used, x25519).
 * Per handshake kind: wall time (median), peak heap of each
 * side (every malloc of the side's thread, engine and crypto library alike,
 * apps/memtrack.c), deepest stack use of each side (painted thread stacks),
 * bytes on the wire; bulk: MB/s. With --instructions (what `make bench`
 * runs) each stack is also run under valgrind's callgrind with collection
 * on only around the handshakes, and so is the crypto-only floor
 * (bench_cryptoonly.c). Every figure is printed with iotls' ratio to each
 * peer. With the OpenSSL provider, whose cache of parsed peer certificates
 * makes every full handshake after the first one a known server's, iotls'
 * full handshake and the floor are measured a second time with the cache
 * off at run time: a new server certificate every handshake (the bench
 * checks that each of those handshakes did parse it). Nothing else here is
 * asserted: it measures. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "bench.h"
#include "cmds.h"
#include "crypto/crypto.h"
#include "iotls/iotls.h"
#include "memtrack.h"

/* The OpenSSL provider keeps parsed peer certificates (src/crypto/openssl/
 * x509.c): its full handshake is also measured with that cache off at run
 * time, as for a never-seen certificate. The mbedTLS provider has no such
 * cache. */
#ifdef IOTLS_CRYPTO_BACKEND_OPENSSL
#include "ossl_cert_cache.h"
#define BENCH_COLD 1
#else
#define BENCH_COLD 0
#endif

#define PEM_CAP 8192
#define BULK_CHUNK 16384
#define BULK_RUNS_MAX 15
#define STACK_BYTES (256 * 1024)
#define STACK_PAINT 0xA5

/* Mbed TLS 4's own TLS 1.3 joins in a PSA build against Mbed TLS 4
 * (bench_mbedtls4.c). */
static const bench_stack *const all_stacks[] = {
    &bench_stack_iotls,    &bench_stack_openssl, &bench_stack_wolfssl, &bench_stack_gnutls,
#if defined(IOTLS_BENCH_MBEDTLS4)
    &bench_stack_mbedtls4,
#endif
};
#define NSTACKS (sizeof all_stacks / sizeof all_stacks[0])

typedef struct {
    char ca_key[PEM_CAP], ca_cert[PEM_CAP], key[PEM_CAP], cert[PEM_CAP];
} bench_pki;

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- one side of one connection, on its own thread ---- */

typedef struct {
    const bench_stack *st;
    void *ctx;
    int fd;
    int is_server;
    size_t bulk;   /* bytes to send (client) or receive (server) after the handshake */
    int callgrind; /* toggle callgrind's collection around the handshake */
    /* Set-up round of the resumed kind: a full handshake, then one byte of
     * application data server->client, so the client has read the tickets
     * sent before it and keeps the session for the measured rounds. */
    int prime;
    /* results */
    int ok;
    int handshaken; /* the handshake completed */
    int kind_ok;    /* ... and was of the kind measured */
    double ms;
    size_t peak;
    size_t own;  /* iotls_memory_used after the handshake (iotls only) */
    size_t hook; /* this thread's peak through the crypto library's allocator hook */
    uint64_t wire;
    double bulk_start, bulk_end;
} side_job;

static void *side_main(void *p)
{
    side_job *j = p;
    /* IOTLS_HEAP_TRACE=client|server, in a build compiled with
     * -DIOTLS_HEAP_TRACE: what that side's peak is made of, the blocks
     * with their call stacks (tools/heap_at_peak.py groups them). Tracing
     * costs stack and time: the other figures are then not valid. */
    const char *trace = getenv("IOTLS_HEAP_TRACE");
    int tracing = trace && strcmp(trace, j->is_server ? "server" : "client") == 0 && !j->prime;
    if (tracing && !memtrack_trace_thread(1)) {
        static atomic_int said;
        if (!atomic_exchange(&said, 1))
            fprintf(stderr, "iotls bench: IOTLS_HEAP_TRACE: not in this build (compile it "
                            "with -DIOTLS_HEAP_TRACE, e.g. in CMAKE_C_FLAGS)\n");
        tracing = 0;
    }
    memtrack_reset_thread();
    iotls__crypto_mem_thread_reset();
    double t0 = bench_now_ms();
    /* Callgrind's collection state is per thread and starts off in every
     * thread (--collect-atstart=no): on for exactly the handshake. */
    if (j->callgrind)
        CALLGRIND_TOGGLE_COLLECT;
    void *conn = j->is_server ? j->st->server(j->ctx, j->fd) : j->st->client(j->ctx, j->fd);
    if (j->callgrind)
        CALLGRIND_TOGGLE_COLLECT;
    j->ms = bench_now_ms() - t0;
    j->peak = memtrack_thread_peak();
    j->hook = iotls__crypto_mem_thread_peak();
    if (tracing) {
        static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&dump_lock);
        fprintf(stderr, "=== heap at the peak: %s %s, peak %zu\n", j->st->name,
                j->is_server ? "server" : "client", j->peak);
        memtrack_trace_dump(stderr);
        pthread_mutex_unlock(&dump_lock);
    }
    j->ok = conn != NULL;
    if (conn) {
        j->handshaken = 1;
        j->wire = j->st->wire_out(conn);
        j->own = j->st->own_bytes ? j->st->own_bytes(conn) : 0;
        j->kind_ok = j->prime || j->st->kind_ok(j->ctx, conn, j->is_server);
        j->ok = j->kind_ok;
    }
    if (conn && j->prime) {
        unsigned char one = 1;
        if (j->is_server)
            j->ok = j->st->write(conn, &one, 1);
        else
            j->ok = j->st->read(conn, &one, 1) == 1 && j->st->keep_session(j->ctx, conn);
    }
    char *buf = j->ok && j->bulk ? calloc(1, BULK_CHUNK) : NULL;
    if (buf) {
        size_t done = 0;
        j->bulk_start = bench_now_ms();
        if (j->is_server) {
            long n;
            while (done < j->bulk && (n = j->st->read(conn, buf, BULK_CHUNK)) > 0)
                done += (size_t)n;
        } else {
            for (; done < j->bulk && j->st->write(conn, buf, BULK_CHUNK); done += BULK_CHUNK)
                ;
        }
        j->bulk_end = bench_now_ms();
        j->ok = done >= j->bulk;
        free(buf);
    } else if (j->bulk) {
        j->ok = 0;
    }
    if (conn)
        j->st->close(conn);
    return NULL;
}

/* Thread stacks painted with a pattern: after the thread ends, the bytes
 * still holding the pattern (from the low end: stacks grow down) were
 * never touched. */
typedef struct {
    unsigned char *mem[2];
    size_t baseline; /* what an empty thread touches: glibc's thread start, TLS */
} painted;

static int start_thread(pthread_t *th, unsigned char *stack, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (stack) {
        memset(stack, STACK_PAINT, STACK_BYTES);
        pthread_attr_setstack(&attr, stack, STACK_BYTES);
    }
    int rc = pthread_create(th, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return rc == 0;
}

static size_t stack_touched(const unsigned char *stack)
{
    size_t untouched = 0;
    while (untouched < STACK_BYTES && stack[untouched] == STACK_PAINT)
        untouched++;
    return STACK_BYTES - untouched;
}

static void *empty_thread(void *p)
{
    return p;
}

/* One connection: both sides, each on a thread. */
static int run_round(const bench_stack *st, void *ctx, size_t bulk, painted *pt, int callgrind,
                     int prime, side_job job[2], size_t stack_used[2])
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    pthread_t th[2];
    int started[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        job[k] = (side_job){.st = st,
                            .ctx = ctx,
                            .fd = sv[k],
                            .is_server = k == 1,
                            .bulk = bulk,
                            .callgrind = callgrind,
                            .prime = prime};
        started[k] = start_thread(&th[k], pt ? pt->mem[k] : NULL, side_main, &job[k]);
    }
    for (int k = 0; k < 2; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        if (pt && stack_used) {
            size_t touched = stack_touched(pt->mem[k]);
            stack_used[k] = touched - pt->baseline;
            /* IOTLS_STACK_TRACE: the deepest byte written, for a watchpoint
             * (tools/deepest_frames.py) in a run without address
             * randomisation, where it is the same in every run. */
            if (getenv("IOTLS_STACK_TRACE"))
                fprintf(stderr, "stack: %s %s deepest %p used %zu\n", st->name,
                        k ? "server" : "client", (void *)(pt->mem[k] + STACK_BYTES - touched),
                        stack_used[k]);
        }
    }
    close(sv[0]);
    close(sv[1]);
    return started[0] && started[1] && job[0].ok && job[1].ok;
}

/* ---- the quick run ---- */

typedef struct {
    double ms[2];
    size_t peak[2];
    size_t own[2];  /* largest over the rounds */
    size_t hook[2]; /* median over the rounds */
    size_t stack[2];
    uint64_t wire[2];
    double mbps;
    double instr; /* per handshake, client + server; 0: not measured */
    int failures;
    int wrong_kind; /* handshakes that completed but not as the kind measured */
    int ran;
    const char *cannot; /* why the stack cannot run this kind, or NULL */
} stack_result;

static const char *const kind_names[BENCH_NKINDS] = {"full", "resumed", "psk"};

/* The resumed kind's set-up: a full handshake whose ticket the client
 * keeps (not measured). */
static int prime_session(const bench_stack *st, void *ctx)
{
    side_job job[2];
    return run_round(st, ctx, 0, NULL, 0, 1, job, NULL);
}

static void run_stack(const bench_stack *st, void *ctx, bench_kind kind, int rounds, painted *pt,
                      stack_result *out)
{
    double *v[6];
    for (int k = 0; k < 6; k++)
        v[k] = calloc((size_t)rounds, sizeof(double));
    int done = 0;
    out->ran = 1;
    if (kind == BENCH_RESUMED && !prime_session(st, ctx)) {
        fprintf(stderr, "iotls bench: %s: no session from the set-up handshake\n", st->name);
        out->failures++;
        rounds = 0;
    }
    /* Round -1 warms up (library init, first allocations) and is not counted. */
    for (int i = -1; i < rounds; i++) {
        side_job job[2];
        memset(job, 0, sizeof job);
        size_t used[2] = {0, 0};
        if (!v[0] || !v[1] || !v[2] || !v[3] || !v[4] || !v[5] ||
            !run_round(st, ctx, 0, pt, 0, 0, job, used)) {
            out->failures++;
            if (job[0].handshaken && job[1].handshaken && job[0].kind_ok + job[1].kind_ok < 2)
                out->wrong_kind++;
            continue;
        }
        if (i < 0)
            continue;
        for (int k = 0; k < 2; k++) {
            v[k][done] = job[k].ms;
            v[2 + k][done] = (double)job[k].peak;
            v[4 + k][done] = (double)job[k].hook;
            if (job[k].own > out->own[k])
                out->own[k] = job[k].own;
            if (used[k] > out->stack[k])
                out->stack[k] = used[k];
            out->wire[k] = job[k].wire;
        }
        done++;
    }
    if (done > 0) {
        for (int k = 0; k < 2; k++) {
            out->ms[k] = median(v[k], done);
            out->peak[k] = (size_t)median(v[2 + k], done);
            out->hook[k] = (size_t)median(v[4 + k], done);
        }
    }
    for (int k = 0; k < 6; k++)
        free(v[k]);
}

/* One bulk transfer on a fresh connection: MB/s, or 0 when it failed. */
static double bulk_once(const bench_stack *st, void *ctx, size_t bulk)
{
    side_job job[2];
    if (run_round(st, ctx, bulk, NULL, 0, 0, job, NULL) && job[1].bulk_end > job[0].bulk_start)
        return (double)bulk / 1e6 / ((job[1].bulk_end - job[0].bulk_start) / 1e3);
    return 0;
}

/* ---- iotls with the certificate cache off ---- */

typedef struct {
    unsigned long parsed, hits;
} cert_counts;

/* The OpenSSL provider's count of peer certificates parsed and taken from
 * its cache so far (0, 0 with another provider). */
static cert_counts cert_counts_now(void)
{
    cert_counts c = {0, 0};
#if BENCH_COLD
    iotls__ossl_cert_cache_counts(&c.parsed, &c.hits);
#endif
    return c;
}

/* Turns the OpenSSL provider's certificate cache on or off (with another
 * provider: nothing to turn); the counts before the change. */
static cert_counts cert_cache_set(int on)
{
    cert_counts c = cert_counts_now();
#if BENCH_COLD
    iotls__ossl_cert_cache_set_enabled(on);
#else
    (void)on;
#endif
    return c;
}

/* After handshakes run with the cache off since *before: 1 when each of
 * them parsed the peer's certificate and none took it from the cache, so
 * the figures are those of a never-seen certificate. */
static int cert_parsed_each(const cert_counts *before, unsigned long handshakes, const char *who)
{
    cert_counts now = cert_counts_now();
    unsigned long parsed = now.parsed - before->parsed, hits = now.hits - before->hits;
    if (parsed >= handshakes && hits == 0)
        return 1;
    fprintf(stderr,
            "iotls bench: %s, certificate cache off: %lu handshakes parsed %lu certificates"
            " and took %lu from the cache\n",
            who, handshakes, parsed, hits);
    return 0;
}

/* ---- instructions under callgrind ---- */

/* The child: `iotls bench --callgrind NAME --kind KIND`, run by
 * run_callgrind() under valgrind --tool=callgrind --collect-atstart=no.
 * Collection is on only around the handshakes (inside each side's thread),
 * after set-up (for the resumed kind: the full handshake that gets the
 * ticket) and two warm-up handshakes. cold (--cert-cache-off, OpenSSL
 * provider): iotls' certificate cache is off from the start, and the child
 * fails unless every handshake parsed the certificate. */
static int callgrind_child(const char *name, const bench_params *params, int rounds, int cold)
{
    if (cold && (params->kind != BENCH_FULL ||
                 (strcmp(name, "iotls") != 0 && strcmp(name, "cryptoonly") != 0))) {
        fprintf(stderr, "iotls bench: --cert-cache-off: full handshakes of iotls or cryptoonly\n");
        return 2;
    }
    cert_counts before = cert_cache_set(!cold);
    if (strcmp(name, "cryptoonly") == 0) {
        bench_msg_trace msgs;
        void *x = bench_iotls_trace_handshake(params, &msgs) ? bench_cryptoonly_setup(params, &msgs)
                                                             : NULL;
        int ok = x != NULL;
        for (int i = 0; ok && i < 2; i++)
            ok = bench_cryptoonly_handshake(x);
        for (int i = 0; ok && i < rounds; i++) {
            CALLGRIND_TOGGLE_COLLECT;
            ok = bench_cryptoonly_handshake(x);
            CALLGRIND_TOGGLE_COLLECT;
        }
        bench_cryptoonly_teardown(x);
        if (!ok)
            fprintf(stderr, "iotls bench: crypto-only handshake failed\n");
        else if (cold)
            ok = cert_parsed_each(&before, (unsigned long)rounds + 2, "crypto operations alone");
        return ok ? 0 : 1;
    }
    for (size_t s = 0; s < NSTACKS; s++) {
        const bench_stack *st = all_stacks[s];
        if (strcasecmp(st->name, name) != 0)
            continue;
        const char *why = st->cannot(params);
        if (why) {
            fprintf(stderr, "iotls bench: %s cannot run %s handshakes: %s\n", st->name,
                    kind_names[params->kind], why);
            return 1;
        }
        void *ctx = st->setup(params);
        int ok = ctx != NULL;
        side_job job[2];
        if (ok && params->kind == BENCH_RESUMED)
            ok = prime_session(st, ctx);
        for (int i = 0; ok && i < 2; i++)
            ok = run_round(st, ctx, 0, NULL, 0, 0, job, NULL);
        for (int i = 0; ok && i < rounds; i++)
            ok = run_round(st, ctx, 0, NULL, 1, 0, job, NULL);
        if (ctx)
            st->teardown(ctx);
        if (!ok)
            fprintf(stderr, "iotls bench: %s %s handshake failed under callgrind\n", st->name,
                    kind_names[params->kind]);
        else if (cold)
            ok = cert_parsed_each(&before, (unsigned long)rounds + 2, st->name);
        return ok ? 0 : 1;
    }
    fprintf(stderr, "iotls bench: --callgrind: unknown stack '%s'\n", name);
    return 2;
}

/* Runs the child under callgrind and returns its instructions per
 * handshake (0 on failure). The output file stays in dir for
 * callgrind_annotate. extra: iotls-only settings passed on (may be empty).
 * cold: with iotls' certificate cache off (--cert-cache-off). */
static double run_callgrind(const char *self, const char *name, bench_kind kind, int rounds,
                            const char *dir, char *const extra[7], int cold)
{
    char outfile[512], outopt[560], nrounds[16];
    snprintf(outfile, sizeof outfile, "%s/callgrind.%s%s.%s.out", dir, name, cold ? "-nocache" : "",
             kind_names[kind]);
    snprintf(outopt, sizeof outopt, "--callgrind-out-file=%s", outfile);
    snprintf(nrounds, sizeof nrounds, "%d", rounds);
    char *argv[] = {"valgrind",
                    "--tool=callgrind",
                    "--collect-atstart=no",
                    "-q",
                    outopt,
                    (char *)self,
                    "bench",
                    "--callgrind",
                    (char *)name,
                    "--kind",
                    (char *)kind_names[kind],
                    "--rounds",
                    nrounds,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL,
                    NULL};
    /* Then the optional arguments: the flag, and extra up to its first NULL. */
    size_t n = sizeof argv / sizeof argv[0] - 9;
    if (cold)
        argv[n++] = "--cert-cache-off";
    for (size_t k = 0; k < 7 && extra[k] != NULL; k++)
        argv[n++] = extra[k];
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        execvp("valgrind", argv);
        fprintf(stderr, "iotls bench: cannot run valgrind: %s\n", strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 0;
    FILE *f = fopen(outfile, "r");
    if (!f)
        return 0;
    char line[512];
    double total = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "totals:", 7) == 0 || (total == 0 && strncmp(line, "summary:", 8) == 0))
            total = strtod(strchr(line, ':') + 1, NULL);
    }
    fclose(f);
    return total / rounds;
}

/* ---- printing ---- */

#define CELL_WIDTH 21
#define LABEL_W "38"

static void print_header(const stack_result *res)
{
    printf("  %-" LABEL_W "s %12s", "", "iotls");
    for (size_t s = 1; s < NSTACKS; s++)
        if (res[s].ran || res[s].cannot)
            printf(" %*s", CELL_WIDTH, all_stacks[s]->name);
    printf("\n");
}

/* iotls' figure, then each peer's with iotls' ratio to it; a peer that
 * cannot run this kind gets the reason in its cell, one that failed
 * "failed". */
static void print_row(const char *what, const char *unit, const stack_result *res,
                      double (*get)(const stack_result *), int decimals)
{
    double ours = get(&res[0]);
    char label[64];
    snprintf(label, sizeof label, "%s (%s)", what, unit);
    if (res[0].ran && !res[0].failures)
        printf("  %-" LABEL_W "s %12.*f", label, decimals, ours);
    else
        printf("  %-" LABEL_W "s %12s", label, res[0].cannot ? res[0].cannot : "failed");
    for (size_t s = 1; s < NSTACKS; s++) {
        if (res[s].cannot) {
            printf(" %*.*s", CELL_WIDTH, CELL_WIDTH, res[s].cannot);
            continue;
        }
        if (!res[s].ran)
            continue;
        double ref = get(&res[s]);
        if (res[s].failures && ref <= 0)
            printf(" %*s", CELL_WIDTH, "failed");
        else if (ref > 0 && ours > 0)
            printf(" %12.*f (%5.2fx)", decimals, ref, ours / ref);
        else if (ref > 0)
            printf(" %12.*f %8s", decimals, ref, "");
        else
            printf(" %12s %8s", "-", "");
    }
    printf("\n");
}

static double g_cms(const stack_result *r)
{
    return r->ms[0];
}
static double g_sms(const stack_result *r)
{
    return r->ms[1];
}
static double g_cpeak(const stack_result *r)
{
    return (double)r->peak[0] / 1024;
}
static double g_speak(const stack_result *r)
{
    return (double)r->peak[1] / 1024;
}
static double g_cown(const stack_result *r)
{
    return (double)r->own[0];
}
static double g_sown(const stack_result *r)
{
    return (double)r->own[1];
}
static double g_chook(const stack_result *r)
{
    return (double)r->hook[0] / 1024;
}
static double g_shook(const stack_result *r)
{
    return (double)r->hook[1] / 1024;
}
static double g_cstack(const stack_result *r)
{
    return (double)r->stack[0] / 1024;
}
static double g_sstack(const stack_result *r)
{
    return (double)r->stack[1] / 1024;
}
static double g_cwire(const stack_result *r)
{
    return (double)r->wire[0];
}
static double g_swire(const stack_result *r)
{
    return (double)r->wire[1];
}
static double g_mbps(const stack_result *r)
{
    return r->mbps;
}
static double g_instr(const stack_result *r)
{
    return r->instr / 1e6;
}

static int make_pki(bench_pki *pki)
{
    iotls_cert_spec ca = {.subject = "CN=iotls bench CA", .is_ca = 1};
    iotls_cert_spec leaf = {
        .subject = "CN=" BENCH_SERVER_NAME, .dns_names = BENCH_SERVER_NAME, .for_server = 1};
    return iotls_pki_make_key(IOTLS_KEY_EC_P256, pki->ca_key, PEM_CAP) == IOTLS_OK &&
           iotls_pki_make_cert(&ca, pki->ca_key, NULL, NULL, pki->ca_cert, PEM_CAP) == IOTLS_OK &&
           iotls_pki_make_key(IOTLS_KEY_EC_P256, pki->key, PEM_CAP) == IOTLS_OK &&
           iotls_pki_make_cert(&leaf, pki->key, pki->ca_key, pki->ca_cert, pki->cert, PEM_CAP) ==
               IOTLS_OK;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: iotls bench [--rounds N] [--bulk-mib N] [--bulk-runs N]\n"
            "                   [--instructions [--cg-rounds N]] [--group x25519|secp256r1]\n"
            "                   [--record-size N] [--max-handshake N] [--resume | --psk]\n"
            "                   (any of the last four: iotls alone) [--reassemble-in-place]\n"
            "       iotls bench --callgrind iotls|openssl|wolfssl|gnutls|mbedtls4|cryptoonly\n"
            "                   [--kind full|resumed|psk] [--group G] [--rounds N]%s\n"
            "       iotls bench --cert-keys [--max-rsa-bits N] [--rounds N]\n"
            "  Full, resumed and external-PSK handshakes of every stack, then bulk: --bulk-runs\n"
            "  transfers of --bulk-mib MiB per stack (default 5 x 32), stacks taking turns,\n"
            "  median MB/s.\n"
            "  --group G       the key exchange group (default x25519); secp256r1: full\n"
            "                  handshakes only\n"
            "  --instructions  also count instructions per handshake under valgrind's callgrind\n"
            "                  (what `make bench` runs; takes a minute or two)\n"
            "  --resume, --psk iotls alone, resumed (or external-PSK) handshakes only, with\n"
            "                  --record-size / --max-handshake (default: full handshakes only)\n"
            "  --reassemble-in-place  iotls reassembles a handshake message spanning records\n"
            "                  in its record buffer, as Mbed TLS 4 does (no handshake buffer);\n"
            "                  every stack still runs\n"
            "  --cert-keys     CPU time of the worst certificate chains the key limits allow\n"
            "                  (RSA up to --max-rsa-bits, default 4096; exponent up to 2^31-1)\n"
            "%s",
            BENCH_COLD ? " [--cert-cache-off]" : "",
            BENCH_COLD
                ? "  --cert-cache-off  (a --callgrind child) iotls with the OpenSSL provider's\n"
                  "                  certificate cache off: every handshake parses the\n"
                  "                  certificate, as a never-seen one\n"
                : "");
}

static const char *const kind_titles[BENCH_NKINDS] = {
    "full handshake: ECDSA P-256 certificate verified by the client, %s",
    "resumed handshake: ticket from a full handshake (set-up, not counted),\n"
    "psk_dhe_ke with x25519; the server's new tickets are counted (one; GnuTLS: two,\n"
    "its fixed number)",
    "external-PSK handshake: 32-byte SHA-256 PSK, identity \"" BENCH_PSK_IDENTITY "\" on both\n"
    "sides, psk_dhe_ke with x25519, no certificates",
};

/* The floor of a full handshake: the crypto operations alone (ours: iotls'
 * instructions it is compared with) and, with the OpenSSL provider, the
 * floor's own ratio to OpenSSL's libssl: how low iotls could go there. */
static void print_floor(const char *indent, double floor, double ours, const stack_result *res)
{
    if (!(floor > 0 && ours > 0)) {
        printf("  %scrypto operations alone: not measured\n", indent);
        return;
    }
    char label[64];
    snprintf(label, sizeof label, "%scrypto operations alone (M)", indent);
    printf("  %-" LABEL_W "s %12.3f  iotls / crypto alone: %.3fx", label, floor / 1e6,
           ours / floor);
#if BENCH_COLD
    for (size_t s = 1; s < NSTACKS; s++)
        if (all_stacks[s] == &bench_stack_openssl && res[s].instr > 0)
            printf(", crypto alone / OpenSSL: %.2fx", floor / res[s].instr);
#else
    (void)res;
#endif
    printf("\n");
}

/* What the bench measured of iotls with the OpenSSL provider's certificate
 * cache off (the full kind; ran = 0 otherwise) and the floor to go with it. */
typedef struct {
    stack_result iotls;
    double floor;
} cold_result;

static void print_kind(bench_kind kind, const stack_result *res, int instructions, double floor,
                       const cold_result *cold, const char *group)
{
    printf("\n");
    if (kind == BENCH_FULL)
        printf(kind_titles[kind], group); /* the title names the group */
    else
        printf("%s", kind_titles[kind]);
    printf("\n");
#if BENCH_COLD
    if (kind == BENCH_FULL)
        printf("%s\n",
               IOTLS_OSSL_CERT_CACHE > 0
                   ? "iotls: the server's certificate parsed once, then taken parsed from the\n"
                     "OpenSSL provider's cache (a known server); a new one: further down"
                   : "iotls: the OpenSSL provider's certificate cache is built out\n"
                     "(IOTLS_OSSL_CERT_CACHE=0): every handshake parses the certificate");
#endif
    print_header(res);
    if (instructions) {
        char what[48];
        snprintf(what, sizeof what, "instructions per %s handshake",
                 kind == BENCH_PSK ? "PSK" : kind_names[kind]);
        print_row(what, "M", res, g_instr, 3);
        if (kind == BENCH_FULL)
            print_floor("", floor, res[0].instr, res);
    }
    print_row("client handshake time", "ms", res, g_cms, 3);
    print_row("server handshake time", "ms", res, g_sms, 3);
    if (memtrack_available()) {
        print_row("client peak heap", "KiB", res, g_cpeak, 1);
        print_row("server peak heap", "KiB", res, g_speak, 1);
    } else {
        printf("  peak heap: not measured in sanitizer builds\n");
    }
    /* The same heap split in two: what iotls' own accounting says the
     * connection holds, and what went through the crypto library's
     * allocator hook ('-': that library cannot be hooked here). */
    print_row("  of which iotls' own, client", "B", res, g_cown, 0);
    print_row("  of which iotls' own, server", "B", res, g_sown, 0);
    size_t hooked = 0;
    iotls_crypto_mem_stats(NULL, &hooked);
    if (hooked > 0) {
        print_row("crypto library hook peak, client", "KiB", res, g_chook, 1);
        print_row("crypto library hook peak, server", "KiB", res, g_shook, 1);
    } else {
        printf("  crypto library hook: none in %s (MBEDTLS_PLATFORM_MEMORY off;\n"
               "  make test-mbedtls3 builds mbedTLS 3.6 with it)\n",
               iotls_crypto_backend_name());
    }
    print_row("client deepest stack", "KiB", res, g_cstack, 1);
    print_row("server deepest stack", "KiB", res, g_sstack, 1);
    print_row("client bytes on the wire", "B", res, g_cwire, 0);
    print_row("server bytes on the wire", "B", res, g_swire, 0);
    if (kind == BENCH_FULL && cold->iotls.ran) {
        /* iotls' figures in the cold case, the peers' as they are (they
         * parse the certificate on every handshake anyway). */
        stack_result row[NSTACKS];
        memcpy(row, res, sizeof row);
        row[0] = cold->iotls;
        printf("  new peer certificate every handshake (iotls: the OpenSSL provider's\n"
               "  certificate cache off at run time, so every handshake parses it):\n");
        if (instructions) {
            print_row("  instructions per full handshake", "M", row, g_instr, 3);
            print_floor("  ", cold->floor, cold->iotls.instr, res);
        }
        print_row("  client handshake time", "ms", row, g_cms, 3);
        print_row("  server handshake time", "ms", row, g_sms, 3);
        /* The parsed certificate is the client's, allocated by OpenSSL. */
        if (memtrack_available())
            print_row("  client peak heap", "KiB", row, g_cpeak, 1);
        if (hooked > 0)
            print_row("  crypto hook peak, client", "KiB", row, g_chook, 1);
    }
}

int cmd_bench(int argc, char **argv)
{
    /* The crypto library's allocator hook must be in place before the
     * library allocates anything; the provider installs it from a
     * constructor, which this call also links in (src/crypto/openssl/mem.c,
     * src/crypto/mbedtls_common/mem.c). */
    iotls__crypto_mem_reset_peak();
    int rounds = 30, cg_rounds = 10, instructions = 0;
    size_t bulk_mib = 32, record_size = 0, max_hs = 0;
    int bulk_runs = 5;
    int resume = 0, psk_only = 0, cert_keys = 0, reasm_in_place = 0;
    unsigned long max_rsa_bits = 0;
    bench_kind child_kind = BENCH_FULL;
    int cold = 0; /* the child, with the certificate cache off */
    const char *callgrind = NULL, *record_arg = NULL, *max_hs_arg = NULL, *group = BENCH_GROUP;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = app_opt_value(argc, argv, &i, "--rounds")))
            rounds = (int)app_parse_num("--rounds", v, 1, 100000);
        else if ((v = app_opt_value(argc, argv, &i, "--bulk-mib")))
            bulk_mib = app_parse_num("--bulk-mib", v, 1, 4096);
        else if ((v = app_opt_value(argc, argv, &i, "--bulk-runs")))
            bulk_runs = (int)app_parse_num("--bulk-runs", v, 1, BULK_RUNS_MAX);
        else if ((v = app_opt_value(argc, argv, &i, "--cg-rounds")))
            cg_rounds = (int)app_parse_num("--cg-rounds", v, 1, 100000);
        else if ((v = app_opt_value(argc, argv, &i, "--record-size")))
            record_size = app_parse_num("--record-size", record_arg = v, 512, 16384);
        else if ((v = app_opt_value(argc, argv, &i, "--max-handshake")))
            max_hs = app_parse_num("--max-handshake", max_hs_arg = v, 512, 262144);
        else if ((v = app_opt_value(argc, argv, &i, "--group"))) {
            if (strcmp(v, "x25519") != 0 && strcmp(v, "secp256r1") != 0) {
                usage();
                return 2;
            }
            group = v;
        } else if ((v = app_opt_value(argc, argv, &i, "--callgrind")))
            callgrind = v;
        else if ((v = app_opt_value(argc, argv, &i, "--kind"))) {
            int k = 0;
            while (k < BENCH_NKINDS && strcmp(v, kind_names[k]) != 0)
                k++;
            if (k == BENCH_NKINDS) {
                usage();
                return 2;
            }
            child_kind = (bench_kind)k;
        } else if (app_opt_flag(argv, i, "--resume"))
            resume = 1;
        else if (app_opt_flag(argv, i, "--psk"))
            psk_only = 1;
        else if (app_opt_flag(argv, i, "--instructions"))
            instructions = 1;
        else if (app_opt_flag(argv, i, "--reassemble-in-place"))
            reasm_in_place = 1;
        else if (app_opt_flag(argv, i, "--cert-keys"))
            cert_keys = 1;
        else if ((v = app_opt_value(argc, argv, &i, "--max-rsa-bits")))
            max_rsa_bits = app_parse_num("--max-rsa-bits", v, 2048, 8192);
        else if (BENCH_COLD && app_opt_flag(argv, i, "--cert-cache-off"))
            cold = 1;
        else {
            usage();
            return 2;
        }
    }
    if ((resume && psk_only) || (cold && !callgrind) || (max_rsa_bits && !cert_keys)) {
        usage();
        return 2;
    }
    if (cert_keys)
        return bench_cert_keys((unsigned)max_rsa_bits, rounds < 100 ? rounds : 100);
    bench_pki *pki = calloc(1, sizeof *pki);
    if (!pki || !make_pki(pki)) {
        fprintf(stderr, "iotls bench: could not make the PKI\n");
        free(pki);
        return 1;
    }
    /* The external PSK: random per run, the same for every stack. */
    uint8_t psk[BENCH_PSK_LEN];
    if (iotls__random(psk, sizeof psk) != IOTLS_OK) {
        fprintf(stderr, "iotls bench: no random PSK\n");
        free(pki);
        return 1;
    }
    bench_params params = {.ca_cert_pem = pki->ca_cert,
                           .cert_pem = pki->cert,
                           .key_pem = pki->key,
                           .server_name = BENCH_SERVER_NAME,
                           .suite = BENCH_SUITE,
                           .group = group,
                           .record_size = record_size,
                           .max_handshake = max_hs,
                           .reassemble_in_place = reasm_in_place,
                           .kind = child_kind,
                           .psk = psk};
    if (callgrind) {
        int rc = callgrind_child(callgrind, &params, rounds, cold);
        free(pki);
        return rc;
    }
    /* Record size and handshake limit are iotls settings: the other stacks
     * would run with their defaults, so they are left out then, and so are
     * the kinds not asked for. */
    int iotls_alone = record_size || max_hs || resume || psk_only;
    /* Another group than x25519: full handshakes only (the resumed and
     * external-PSK kinds are defined with x25519). */
    if (strcmp(group, BENCH_GROUP) != 0 && (resume || psk_only)) {
        usage();
        return 2;
    }
    size_t nstacks = iotls_alone ? 1 : NSTACKS;
    int other_group = strcmp(group, BENCH_GROUP) != 0;
    int run_kind[BENCH_NKINDS] = {!iotls_alone || (!resume && !psk_only),
                                  (!iotls_alone || resume) && !other_group,
                                  (!iotls_alone || psk_only) && !other_group};
    /* Bulk once per stack, after a full handshake (or of the only kind run). */
    int bulk_kind = run_kind[BENCH_FULL] ? BENCH_FULL : resume ? BENCH_RESUMED : BENCH_PSK;
    char *extra[7] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    {
        int e = 0;
        if (other_group) {
            extra[e++] = "--group";
            extra[e++] = (char *)group;
        }
        if (record_arg) {
            extra[e++] = "--record-size";
            extra[e++] = (char *)record_arg;
        }
        if (max_hs_arg) {
            extra[e++] = "--max-handshake";
            extra[e++] = (char *)max_hs_arg;
        }
        if (reasm_in_place)
            extra[e++] = "--reassemble-in-place";
    }

    painted pt = {{aligned_alloc(4096, STACK_BYTES), aligned_alloc(4096, STACK_BYTES)}, 0};
    if (pt.mem[0] && pt.mem[1]) {
        pthread_t th;
        if (start_thread(&th, pt.mem[0], empty_thread, NULL)) {
            pthread_join(th, NULL);
            pt.baseline = stack_touched(pt.mem[0]);
        }
    }

    printf("iotls bench: TLS 1.3 handshakes (%s%s%s), %s, %s;\n"
           "client and server in one process on a socketpair, one thread each;\n"
           "%d rounds per kind (medians), then %zu MiB client->server on a new %s connection,\n"
           "%d times per stack, the stacks taking turns (median MB/s).\n"
           "iotls crypto provider: %s\n",
           run_kind[BENCH_FULL] ? "full" : "",
           run_kind[BENCH_RESUMED] ? (iotls_alone ? "resumed" : ", resumed") : "",
           run_kind[BENCH_PSK] ? (iotls_alone ? "external PSK" : ", external PSK") : "",
           BENCH_SUITE, group, rounds, bulk_mib, kind_names[bulk_kind], bulk_runs,
           iotls_crypto_backend_name());
    if (reasm_in_place)
        printf("iotls reassembles handshake messages in its record buffer, as Mbed TLS does\n");
    for (size_t s = 1; s < nstacks; s++)
        printf("peer: %s\n", all_stacks[s]->version());

    stack_result res[BENCH_NKINDS][NSTACKS];
    memset(res, 0, sizeof res);
    cold_result cold_res;
    memset(&cold_res, 0, sizeof cold_res);
    size_t conn_size = 0;
    int failures = 0;
    for (int kind = 0; kind < BENCH_NKINDS; kind++) {
        if (!run_kind[kind])
            continue;
        params.kind = (bench_kind)kind;
        for (size_t s = 0; s < nstacks; s++) {
            const bench_stack *st = all_stacks[s];
            if ((res[kind][s].cannot = st->cannot(&params)) != NULL)
                continue;
            void *ctx = st->setup(&params);
            if (!ctx) {
                res[kind][s].failures++;
                failures++;
                continue;
            }
            if (s == 0 && (kind == BENCH_FULL || !conn_size))
                conn_size = bench_iotls_conn_size(ctx);
            run_stack(st, ctx, (bench_kind)kind, rounds, pt.mem[0] && pt.mem[1] ? &pt : NULL,
                      &res[kind][s]);
            failures += res[kind][s].failures;
            if (BENCH_COLD && s == 0 && kind == BENCH_FULL) {
                /* Again with the certificate cache off: a new server
                 * certificate every handshake (the warm-up round too). */
                stack_result *c = &cold_res.iotls;
                cert_counts before = cert_cache_set(0);
                run_stack(st, ctx, BENCH_FULL, rounds, pt.mem[0] && pt.mem[1] ? &pt : NULL, c);
                cert_cache_set(1);
                if (!c->failures && !cert_parsed_each(&before, (unsigned long)rounds + 1, "iotls"))
                    c->failures++;
                failures += c->failures;
            }
            if (res[kind][s].wrong_kind)
                fprintf(stderr, "iotls bench: %s: %d %s handshakes were not %s\n", st->name,
                        res[kind][s].wrong_kind, kind_names[kind],
                        kind == BENCH_RESUMED ? "resumed (psk_dhe_ke, x25519)"
                        : kind == BENCH_PSK   ? "external-PSK ones (psk_dhe_ke, x25519)"
                                              : "full ones");
            st->teardown(ctx);
        }
    }
    free(pt.mem[0]);
    free(pt.mem[1]);

    /* Bulk: bulk_runs transfers per stack, the stacks taking turns, so
     * that a busy moment of a shared machine does not land on one stack
     * alone; the median of each. */
    {
        void *ctx[NSTACKS] = {0};
        double mbps[NSTACKS][BULK_RUNS_MAX];
        params.kind = (bench_kind)bulk_kind;
        for (size_t s = 0; s < nstacks; s++)
            if (!res[bulk_kind][s].cannot &&
                (!(ctx[s] = all_stacks[s]->setup(&params)) ||
                 (bulk_kind == BENCH_RESUMED && !prime_session(all_stacks[s], ctx[s])))) {
                fprintf(stderr, "iotls bench: %s: bulk set-up failed\n", all_stacks[s]->name);
                if (ctx[s])
                    all_stacks[s]->teardown(ctx[s]);
                ctx[s] = NULL;
                res[bulk_kind][s].failures++;
                failures++;
            }
        for (int r = 0; r < bulk_runs; r++)
            for (size_t s = 0; s < nstacks; s++)
                if (ctx[s] &&
                    (mbps[s][r] = bulk_once(all_stacks[s], ctx[s], bulk_mib * 1024 * 1024)) <= 0) {
                    res[bulk_kind][s].failures++;
                    failures++;
                }
        for (size_t s = 0; s < nstacks; s++) {
            if (!ctx[s])
                continue;
            res[bulk_kind][s].mbps = median(mbps[s], bulk_runs);
            all_stacks[s]->teardown(ctx[s]);
        }
    }

    double floor = 0;
    if (instructions) {
        char self[512], dir[] = "/tmp/iotls-bench-XXXXXX";
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0 && mkdtemp(dir)) {
            self[n] = '\0';
            printf("instructions: valgrind --tool=callgrind --collect-atstart=no, collection on\n"
                   "only around each handshake, %d handshakes after set-up and 2 warm-up ones;\n"
                   "client + server; output in %s\n",
                   cg_rounds, dir);
            for (int kind = 0; kind < BENCH_NKINDS; kind++) {
                for (size_t s = 0; s < NSTACKS; s++) {
                    char lower[16];
                    size_t k = 0;
                    for (; all_stacks[s]->name[k] && k + 1 < sizeof lower; k++)
                        lower[k] = (char)(all_stacks[s]->name[k] | 0x20);
                    lower[k] = '\0';
                    if (res[kind][s].ran && !res[kind][s].failures) {
                        res[kind][s].instr =
                            run_callgrind(self, lower, (bench_kind)kind, cg_rounds, dir, extra, 0);
                        if (res[kind][s].instr <= 0) {
                            res[kind][s].failures++;
                            failures++;
                        }
                    }
                }
            }
            if (cold_res.iotls.ran && !cold_res.iotls.failures &&
                (cold_res.iotls.instr =
                     run_callgrind(self, "iotls", BENCH_FULL, cg_rounds, dir, extra, 1)) <= 0) {
                cold_res.iotls.failures++;
                failures++;
            }
            if (run_kind[BENCH_FULL] && !iotls_alone) {
                floor = run_callgrind(self, "cryptoonly", BENCH_FULL, cg_rounds, dir, extra, 0);
                if (cold_res.iotls.ran)
                    cold_res.floor =
                        run_callgrind(self, "cryptoonly", BENCH_FULL, cg_rounds, dir, extra, 1);
            }
        } else {
            printf("instructions: not measured (no /proc/self/exe or temporary directory)\n");
            instructions = 0;
        }
    }

    for (int kind = 0; kind < BENCH_NKINDS; kind++)
        if (run_kind[kind])
            print_kind((bench_kind)kind, res[kind], instructions, floor, &cold_res, group);

    printf("\nafter the handshake\n");
    print_header(res[bulk_kind]);
    print_row("bulk client->server", "MB/s", res[bulk_kind], g_mbps, 1);
    printf("  %-" LABEL_W "s %12zu\n", "iotls engine block (B)", conn_size);
    for (int kind = 0; kind < BENCH_NKINDS; kind++)
        for (size_t s = 0; s < NSTACKS; s++)
            if (run_kind[kind] && res[kind][s].cannot)
                printf("  %s, %s handshake: unsupported: %s\n", all_stacks[s]->name,
                       kind_names[kind], res[kind][s].cannot);
    if (failures)
        printf("\n  failed rounds or set-ups: %d (FAILED)\n", failures);
    printf("\n  Ratios are iotls / peer: below 1 means iotls uses less (for MB/s: is slower).\n"
           "  Peak heap: every allocation of the side's thread during connection set-up and\n"
           "  handshake (iotls: engine block plus the crypto library's). Deepest stack: bytes\n"
           "  touched on the side's painted %d KiB thread stack during set-up, handshake and\n"
           "  free, minus what an empty thread touches (%zu B). A handshake counts only when\n"
           "  both sides report it as the kind measured (resumed / external PSK, x25519).\n",
           STACK_BYTES / 1024, pt.baseline);
    iotls__wipe(psk, sizeof psk);
    free(pki);
    return failures ? 1 : 0;
}
