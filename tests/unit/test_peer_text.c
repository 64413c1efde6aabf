/* The peer certificate's names on request (iotls_conn_peer_text,
 * iotls_conn_peer_spki_sha256 and the blocking iotls_peer_text /
 * iotls_peer_spki_sha256), now that iotls_info carries only what is cheap:
 *
 * 1. After a full handshake the client gets the server leaf's subject,
 *    issuer, subjectAltNames and key as text, and its SPKI hash; the
 *    server gets the client certificate's subject.
 * 2. Before the handshake, or from a side the peer presented nothing to:
 *    IOTLS_ERR_BAD_STATE with an empty string.
 * 3. A buffer too small: IOTLS_ERR_BUFFER_TOO_SMALL, empty string, no
 *    write past cap; an unknown kind: BAD_ARG.
 * 4. The blocking API says the same as the engine under it.
 * (The resumed server's identity from a ticket: test_session.) */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "enginepair.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "testlib.h"

static char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096];
static char cli_key[4096], cli_cert[4096], cli_ca_key[4096], cli_ca_cert[4096];
static const char *g_name = "device.local";

static void test_engine(void)
{
    iotls_config *scfg = iotls_config_new();
    iotls_config *ccfg = iotls_config_new();
    CHECK(scfg != NULL && ccfg != NULL);
    CHECK_OK(iotls_config_set_cert_mem(scfg, (const uint8_t *)leaf_cert, strlen(leaf_cert) + 1,
                                       (const uint8_t *)leaf_key, strlen(leaf_key) + 1));
    CHECK_OK(iotls_config_set_ca_mem(scfg, (const uint8_t *)cli_ca_cert, strlen(cli_ca_cert) + 1));
    CHECK_OK(iotls_config_set_verify_client(scfg, IOTLS_VERIFY_CLIENT_REQUIRED));
    CHECK_OK(iotls_config_set_ca_mem(ccfg, (const uint8_t *)ca_cert, strlen(ca_cert) + 1));
    CHECK_OK(iotls_config_set_cert_mem(ccfg, (const uint8_t *)cli_cert, strlen(cli_cert) + 1,
                                       (const uint8_t *)cli_key, strlen(cli_key) + 1));
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(sv != NULL && cl != NULL);
    if (sv && cl) {
        char text[256];
        uint8_t spki[32], again[32];
        memset(text, 'x', sizeof text);
        CHECK_RC(iotls_conn_peer_text(cl, IOTLS_PEER_SUBJECT, text, sizeof text),
                 IOTLS_ERR_BAD_STATE);
        CHECK(text[0] == '\0');
        CHECK_RC(iotls_conn_peer_spki_sha256(cl, spki), IOTLS_ERR_BAD_STATE);

        static tl_wire to_sv, to_cl;
        CHECK_OK(iotls_conn_start(sv));
        CHECK_OK(iotls_conn_start(cl));
        for (int i = 0; i < 50; i++) {
            int a = tl_shuttle(cl, &to_sv, sv, NULL);
            int b = tl_shuttle(sv, &to_cl, cl, NULL);
            if (a <= 0 && b <= 0)
                break;
        }
        CHECK(iotls_conn_handshake_done(cl) && iotls_conn_handshake_done(sv));

        CHECK_OK(iotls_conn_peer_text(cl, IOTLS_PEER_SUBJECT, text, sizeof text));
        CHECK(strcmp(text, "CN=device") == 0);
        CHECK_OK(iotls_conn_peer_text(cl, IOTLS_PEER_ISSUER, text, sizeof text));
        CHECK(strcmp(text, "CN=peer text CA") == 0);
        CHECK_OK(iotls_conn_peer_text(cl, IOTLS_PEER_SANS, text, sizeof text));
        CHECK(strstr(text, "DNS:device.local") != NULL);
        CHECK_OK(iotls_conn_peer_text(cl, IOTLS_PEER_KEY, text, sizeof text));
        CHECK(strstr(text, "P-256") != NULL);
        CHECK_OK(iotls_conn_peer_spki_sha256(cl, spki));
        CHECK_OK(iotls_conn_peer_spki_sha256(cl, again));
        static const uint8_t zero[32];
        CHECK(memcmp(spki, zero, sizeof zero) != 0 && memcmp(spki, again, sizeof spki) == 0);

        /* The server: the client certificate's subject and key hash; the
         * client's key is not the server's. */
        CHECK_OK(iotls_conn_peer_text(sv, IOTLS_PEER_SUBJECT, text, sizeof text));
        CHECK(strcmp(text, "CN=sensor-9") == 0);
        CHECK_OK(iotls_conn_peer_spki_sha256(sv, again));
        CHECK(memcmp(spki, again, sizeof spki) != 0);

        /* Too small: nothing past cap, an empty string. */
        char small[8];
        memset(small, 'x', sizeof small);
        CHECK_RC(iotls_conn_peer_text(cl, IOTLS_PEER_ISSUER, small, 4), IOTLS_ERR_BUFFER_TOO_SMALL);
        CHECK(small[0] == '\0' && small[4] == 'x');
        CHECK_RC(iotls_conn_peer_text(cl, 4, text, sizeof text), IOTLS_ERR_BAD_ARG);
        CHECK_RC(iotls_conn_peer_text(cl, IOTLS_PEER_SUBJECT, text, 0), IOTLS_ERR_BAD_ARG);

        iotls_info info;
        CHECK_OK(iotls_conn_info(cl, &info));
        CHECK(info.peer_chain_len == 2 || info.peer_chain_len == 1);
    }
    tl_conn_free(sv);
    tl_conn_free(cl);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
}

typedef struct {
    const iotls_config *cfg;
    int fd;
    int rc;
} server_job;

static void *serve(void *arg)
{
    server_job *job = arg;
    iotls *srv = iotls_server_new(job->cfg);
    iotls *t = NULL;
    job->rc = srv ? iotls_accept_socket(srv, job->fd, &t) : IOTLS_ERR_NO_MEMORY;
    if (job->rc == IOTLS_OK) {
        char buf[8];
        (void)iotls_read(t, buf, sizeof buf); /* until the client closes */
        (void)iotls_close(t);
    }
    iotls_free(t);
    iotls_free(srv);
    return NULL;
}

static void test_blocking(void)
{
    iotls_config *scfg = iotls_config_new();
    iotls_config *ccfg = iotls_config_new();
    CHECK(scfg != NULL && ccfg != NULL);
    CHECK_OK(iotls_config_set_cert_mem(scfg, (const uint8_t *)leaf_cert, strlen(leaf_cert) + 1,
                                       (const uint8_t *)leaf_key, strlen(leaf_key) + 1));
    CHECK_OK(iotls_config_set_ca_mem(ccfg, (const uint8_t *)ca_cert, strlen(ca_cert) + 1));
    int fds[2];
    pthread_t th;
    server_job job = {scfg, -1, IOTLS_ERR_INTERNAL};
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    job.fd = fds[1];
    CHECK(pthread_create(&th, NULL, serve, &job) == 0);
    iotls *t = iotls_client_new(ccfg);
    CHECK(t != NULL);
    char text[256], engine_text[256];
    uint8_t spki[32], engine_spki[32];
    CHECK_RC(iotls_peer_text(t, IOTLS_PEER_SUBJECT, text, sizeof text), IOTLS_ERR_BAD_STATE);
    CHECK(text[0] == '\0');
    CHECK_RC(iotls_peer_spki_sha256(t, spki), IOTLS_ERR_BAD_STATE);
    CHECK_OK(iotls_connect_socket(t, fds[0], g_name));
    for (int what = IOTLS_PEER_SUBJECT; what <= IOTLS_PEER_KEY; what++) {
        CHECK_OK(iotls_peer_text(t, what, text, sizeof text));
        CHECK_OK(iotls_conn_peer_text(iotls_engine(t), what, engine_text, sizeof engine_text));
        CHECK(text[0] != '\0' && strcmp(text, engine_text) == 0);
    }
    CHECK_OK(iotls_peer_spki_sha256(t, spki));
    CHECK_OK(iotls_conn_peer_spki_sha256(iotls_engine(t), engine_spki));
    CHECK(memcmp(spki, engine_spki, sizeof spki) == 0);
    (void)iotls_close(t);
    pthread_join(th, NULL);
    CHECK_OK(job.rc);
    iotls_free(t);
    close(fds[0]);
    close(fds[1]);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
}

int main(void)
{
    iotls_cert_spec leaf = {.subject = "CN=device", .dns_names = "device.local", .for_server = 1};
    iotls_cert_spec cli = {.subject = "CN=sensor-9", .for_client = 1};
    if (tl_make_pki("CN=peer text CA", &leaf, ca_key, ca_cert, leaf_key, leaf_cert,
                    sizeof ca_key) != IOTLS_OK ||
        tl_make_pki("CN=peer text client CA", &cli, cli_ca_key, cli_ca_cert, cli_key, cli_cert,
                    sizeof cli_key) != IOTLS_OK) {
        fprintf(stderr, "could not make test certificates\n");
        CHECK(0);
        return tl_finish("peer_text");
    }
    test_engine();
    test_blocking();
    return tl_finish("peer_text");
}
