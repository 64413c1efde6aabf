/* `iotls bench`: the harness (cmd_bench.c) and the TLS stacks it drives,
 * each behind the same small interface so every stack runs the same suite,
 * group and certificate over the same transport in the same run. */
#ifndef IOTLS_APP_BENCH_H
#define IOTLS_APP_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_SERVER_NAME "bench.iotls.test"
#define BENCH_SUITE "TLS_AES_128_GCM_SHA256"
#define BENCH_GROUP "x25519"

/* The handshake kinds measured. Resumed: a ticket from a previous full
 * handshake of the same stack (that handshake is set-up, not measured),
 * psk_dhe_ke with x25519. External PSK: BENCH_PSK_IDENTITY and a 32-byte
 * key for SHA-256 (TLS_AES_128_GCM_SHA256) on both sides, psk_dhe_ke with
 * x25519; the server has no certificate, so a completed handshake was
 * authenticated by the PSK. */
typedef enum { BENCH_FULL = 0, BENCH_RESUMED = 1, BENCH_PSK = 2 } bench_kind;
#define BENCH_NKINDS 3
#define BENCH_PSK_IDENTITY "iotls-bench-psk"
#define BENCH_PSK_LEN 32

/* What every stack is set up with. PEM strings are NUL-terminated. */
typedef struct {
    const char *ca_cert_pem; /* the client's only trust anchor */
    const char *cert_pem;    /* the server's ECDSA P-256 leaf, issued by the CA */
    const char *key_pem;     /* its private key */
    const char *server_name; /* SNI and the name the client verifies */
    const char *suite;       /* IANA name; each stack maps it to its own */
    const char *group;       /* "x25519" (BENCH_GROUP) or "secp256r1" (--group) */
    size_t record_size;      /* iotls only: iotls_config_set_record_size (0: default) */
    size_t max_handshake;    /* iotls only: iotls_config_set_max_handshake_size (0: default) */
    int reassemble_in_place; /* iotls only: iotls_config_set_reassemble_in_place, as Mbed TLS */
    bench_kind kind;
    const uint8_t *psk; /* BENCH_PSK_LEN bytes (BENCH_PSK) */
} bench_params;

/* One TLS implementation. setup() builds a context holding both the client
 * and the server configuration for one handshake kind: full (cert, key, CA,
 * suite, group, no session tickets), resumed (the same, the server sending
 * one ticket per handshake where the stack lets us choose) or external PSK
 * (no certificate, the PSK on both sides). client()/server() create a
 * connection on the connected socket fd and run a handshake to completion,
 * returning the connection or NULL; a resumed-kind client offers the
 * session kept by keep_session() when there is one. Connections are used
 * from one thread at a time. */
typedef struct {
    const char *name; /* as printed, and lower-cased on the command line */
    const char *(*version)(void);
    /* NULL when the stack can run p->kind here, else why it cannot (printed
     * in the table instead of its figures). */
    const char *(*cannot)(const bench_params *p);
    void *(*setup)(const bench_params *p); /* NULL on failure (prints why) */
    void *(*client)(void *ctx, int fd);
    void *(*server)(void *ctx, int fd);
    int (*write)(void *conn, const void *buf, size_t len); /* 1: all of it written */
    long (*read)(void *conn, void *buf, size_t cap);       /* bytes; <= 0 end or error */
    uint64_t (*wire_out)(void *conn); /* bytes this side has sent, records included */
    /* Resumed kind, client side, after the connection read application data
     * (so the tickets sent before it were processed): keep the session for
     * the next client() calls. 1 when a resumable session was kept. */
    int (*keep_session)(void *ctx, void *conn);
    /* 1 when the finished handshake was of the kind ctx is set up for, as
     * the stack reports it (resumed: its "session reused" flag; PSK: the
     * external PSK was used; both: (EC)DHE with x25519 where reported). */
    int (*kind_ok)(void *ctx, void *conn, int is_server);
    /* iotls only (NULL for the peers): bytes the connection holds in the
     * stack's own allocations (iotls_memory_used). */
    size_t (*own_bytes)(void *conn);
    void (*close)(void *conn); /* frees the connection */
    void (*teardown)(void *ctx);
} bench_stack;

extern const bench_stack bench_stack_iotls;
extern const bench_stack bench_stack_openssl;
extern const bench_stack bench_stack_wolfssl;
extern const bench_stack bench_stack_gnutls;
#if defined(IOTLS_BENCH_MBEDTLS4)
extern const bench_stack bench_stack_mbedtls4;
#endif

/* The handshake messages one iotls full handshake sends, in order (type and
 * length with header), learnt from a traced handshake: bench_cryptoonly.c
 * replays exactly that many bytes through the hash and the AEAD. */
#define BENCH_MAX_MSGS 16
typedef struct {
    uint8_t type[BENCH_MAX_MSGS];
    size_t len[BENCH_MAX_MSGS];
    int from_server[BENCH_MAX_MSGS];
    size_t count;
    uint64_t server_records; /* protected records the server's flight took */
} bench_msg_trace;
int bench_iotls_trace_handshake(const bench_params *p, bench_msg_trace *out);
/* iotls_conn_size() of the client configuration of an iotls bench context. */
size_t bench_iotls_conn_size(void *ctx);

/* The crypto operations of one iotls full handshake (both sides), done
 * directly through the provider interface (src/crypto/crypto.h), nothing
 * else: the floor the protocol code is measured against. */
void *bench_cryptoonly_setup(const bench_params *p, const bench_msg_trace *msgs);
int bench_cryptoonly_handshake(void *ctx); /* 1 when every operation succeeded */
void bench_cryptoonly_teardown(void *ctx);

double bench_now_ms(void);

/* `iotls bench --cert-keys [--max-rsa-bits N]` (bench_certkeys.c): the CPU
 * a presented chain costs at the key limits. Returns the exit code. */
int bench_cert_keys(unsigned max_rsa_bits, int rounds);

#endif
