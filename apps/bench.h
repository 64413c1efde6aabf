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

/* What every stack is set up with. PEM strings are NUL-terminated. */
typedef struct {
    const char *ca_cert_pem; /* the client's only trust anchor */
    const char *cert_pem;    /* the server's ECDSA P-256 leaf, issued by the CA */
    const char *key_pem;     /* its private key */
    const char *server_name; /* SNI and the name the client verifies */
    const char *suite;       /* IANA name; each stack maps it to its own */
    const char *group;       /* "x25519" */
    size_t record_size;      /* iotls only: iotls_config_set_record_size (0: default) */
    size_t max_handshake;    /* iotls only: iotls_config_set_max_handshake_size (0: default) */
    int resume;              /* iotls only: resumed handshakes (a ticket from the first one) */
} bench_params;

/* One TLS implementation. setup() builds a context holding both the client
 * and the server configuration (cert, key, CA, suite, group, no session
 * tickets: iotls sends none). client()/server() create a connection on the
 * connected socket fd and run a full handshake to completion, returning the
 * connection or NULL. Connections are used from one thread at a time. */
typedef struct {
    const char *name; /* as printed, and lower-cased on the command line */
    const char *(*version)(void);
    void *(*setup)(const bench_params *p); /* NULL on failure (prints why) */
    void *(*client)(void *ctx, int fd);
    void *(*server)(void *ctx, int fd);
    int (*write)(void *conn, const void *buf, size_t len); /* 1: all of it written */
    long (*read)(void *conn, void *buf, size_t cap);       /* bytes; <= 0 end or error */
    uint64_t (*wire_out)(void *conn); /* bytes this side has sent, records included */
    void (*close)(void *conn);        /* frees the connection */
    void (*teardown)(void *ctx);
} bench_stack;

extern const bench_stack bench_stack_iotls;
extern const bench_stack bench_stack_openssl;
extern const bench_stack bench_stack_wolfssl;
extern const bench_stack bench_stack_gnutls;

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

#endif
