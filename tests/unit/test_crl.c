/* Certificate revocation lists (iotls_config_set_crl_file / _mem), with a
 * CA, certificates and CRLs made by `openssl ca` (tests/interop/crl_pki.sh):
 *
 *   - a revoked device certificate is refused by our server, which sends
 *     certificate_revoked and names the device's subject and serial in the
 *     error detail; a device not on the CRL gets in;
 *   - a revoked server certificate is refused by our client, which sends
 *     certificate_revoked; a server not on the CRL is accepted;
 *   - the policy (docs/api.md): a CRL past its nextUpdate, a CRL that does
 *     not verify with the CA's key (a forged "nothing is revoked"), and no
 *     CRL from the leaf's issuer (only another CA's) each refuse every
 *     chain with IOTLS_ERR_CRL_UNUSABLE (alert certificate_unknown);
 *   - intermediate CAs: a device under the intermediate is checked against
 *     the intermediate's CRL, and the intermediate against the root's when
 *     that is loaded; several CRLs in one PEM file, in DER, and over
 *     several calls;
 *   - resumption: a server with CRLs does not resume a session a client
 *     certificate authenticated (the ticket does not carry what a CRL
 *     lists), so a device revoked after it got a ticket is refused;
 *   - the configuration: a missing file or one that is not a CRL fails
 *     with the file named in iotls_config_error, and leaves the
 *     configuration refusing every chain (never checking without the list).
 *
 * Client and server engines run in memory (src/io/mem.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "io/mem.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "iotls/session.h"
#include "enginepair.h"
#include "testlib.h"

static char g_dir[48];

static const char *path(const char *name)
{
    static char buf[4][200];
    static int next;
    next = (next + 1) % 4;
    return tl_path_of(g_dir, buf[next], sizeof buf[next], name);
}

/* A configuration trusting the root CA, with our certificate (NULL: none)
 * and the CRL files named in crls (NULL-ended; NULL: none). */
static iotls_config *make_cfg(const char *cert, const char *key, const char *const *crls)
{
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    if (!cfg)
        return NULL;
    CHECK_OK(iotls_config_set_ca_file(cfg, path("ca.pem")));
    if (cert)
        CHECK_OK(iotls_config_set_cert_file(cfg, path(cert), path(key)));
    for (size_t i = 0; crls && crls[i]; i++) {
        int rc = iotls_config_set_crl_file(cfg, path(crls[i]));
        CHECK_OK(rc);
        if (rc != IOTLS_OK)
            fprintf(stderr, "  (%s)\n", iotls_config_error(cfg));
    }
    return cfg;
}

/* One handshake in memory: the side that verifies (the server when
 * server_checks, else the client) must end with want; for an error, it
 * must have sent want's alert and the other side received it. detail
 * (may be NULL) receives the checking side's iotls_conn_error_detail. */
static void handshake(iotls_config *ccfg, iotls_config *scfg, int server_checks, int want,
                      char *detail, size_t detail_cap)
{
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, "localhost");
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    CHECK(cl != NULL && sv != NULL);
    if (cl && sv) {
        CHECK_OK(iotls_conn_start(sv));
        CHECK_OK(iotls_conn_start(cl));
        int rc = iotls__mem_pair_run(cl, sv, NULL);
        iotls_conn *checker = server_checks ? sv : cl, *other = server_checks ? cl : sv;
        if (want == IOTLS_OK) {
            CHECK_OK(rc);
            CHECK(iotls_conn_handshake_done(cl) && iotls_conn_handshake_done(sv));
        } else {
            CHECK_RC(iotls_conn_error(checker), want);
            CHECK(checker->alert_sent == iotls_error_alert(want));
            /* The client may think its handshake done before the server's
             * verdict arrives: let it read the alert. */
            (void)iotls__mem_pair_step(cl, sv, NULL, NULL);
            CHECK_RC(iotls_conn_error(other), IOTLS_ERR_ALERT_RECEIVED);
            CHECK(other->peer_alert == iotls_error_alert(want));
        }
        if (detail) {
            CHECK_OK(iotls_conn_error_detail(checker, detail, detail_cap));
            if (want != IOTLS_OK)
                fprintf(stderr, "  detail: %s\n", detail);
        }
    }
    tl_conn_free(cl);
    tl_conn_free(sv);
}

/* Our server (root CA, CRL files crls) and a device presenting cert. */
static void device(const char *cert, const char *key, const char *const *crls, int want,
                   char *detail, size_t detail_cap)
{
    iotls_config *scfg = make_cfg("srv-ok.pem", "srv-ok.key", crls);
    iotls_config *ccfg = make_cfg(cert, key, NULL);
    if (scfg && ccfg) {
        CHECK_OK(iotls_config_set_verify_client(scfg, IOTLS_VERIFY_CLIENT_REQUIRED));
        handshake(ccfg, scfg, 1, want, detail, detail_cap);
    }
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
}

/* Our client (root CA, CRL files crls) and a server presenting cert. */
static void server(const char *cert, const char *key, const char *const *crls, int want,
                   char *detail, size_t detail_cap)
{
    iotls_config *scfg = make_cfg(cert, key, NULL);
    iotls_config *ccfg = make_cfg(NULL, NULL, crls);
    if (scfg && ccfg)
        handshake(ccfg, scfg, 0, want, detail, detail_cap);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
}

/* The serial crl_pki.sh wrote for cert (as openssl x509 -serial prints). */
static void serial_of(const char *cert, char *out, size_t cap)
{
    char name[96];
    snprintf(name, sizeof name, "%s.serial", cert);
    out[0] = '\0';
    FILE *f = fopen(path(name), "r");
    CHECK(f != NULL);
    if (!f)
        return;
    if (fgets(out, (int)cap, f) == NULL)
        out[0] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    fclose(f);
    CHECK(out[0] != '\0');
}

static const char *const ca_crl[] = {"ca.crl.pem", NULL};

/* The detail of a revocation, word for word: which certificate, its
 * serial and the CRL's issuer, each said once ("revoked" is the error's
 * own text, iotls_error_string, and not repeated). */
static void check_revoked_detail(const char *detail, const char *want)
{
    if (strcmp(detail, want) != 0) {
        fprintf(stderr, "  detail: %s\n  want:   %s\n", detail, want);
        CHECK(0);
    }
}

static void test_server_refuses_revoked_device(void)
{
    char detail[512], serial[64], want[320];
    device("dev-ok.pem", "dev-ok.key", ca_crl, IOTLS_OK, NULL, 0);
    device("dev-revoked.pem", "dev-revoked.key", ca_crl, IOTLS_ERR_CERT_REVOKED, detail,
           sizeof detail);
    /* The server's log names the device and which certificate it was. */
    serial_of("dev-revoked", serial, sizeof serial);
    snprintf(want, sizeof want,
             "client certificate 'CN=device-revoked, O=iotls test' (serial %s) is on the CRL of "
             "'O=iotls test, CN=iotls crl root CA'",
             serial);
    check_revoked_detail(detail, want);
    /* Without a CRL the same device gets in: the refusal is the CRL's. */
    device("dev-revoked.pem", "dev-revoked.key", NULL, IOTLS_OK, NULL, 0);
}

static void test_client_refuses_revoked_server(void)
{
    char detail[512], serial[64], want[320];
    server("srv-ok.pem", "srv-ok.key", ca_crl, IOTLS_OK, NULL, 0);
    server("srv-revoked.pem", "srv-revoked.key", ca_crl, IOTLS_ERR_CERT_REVOKED, detail,
           sizeof detail);
    serial_of("srv-revoked", serial, sizeof serial);
    snprintf(want, sizeof want,
             "server certificate 'CN=localhost, O=iotls test' (serial %s) is on the CRL of "
             "'O=iotls test, CN=iotls crl root CA'",
             serial);
    check_revoked_detail(detail, want);
    server("srv-revoked.pem", "srv-revoked.key", NULL, IOTLS_OK, NULL, 0);
    /* The same CRL in DER. */
    static const char *const der[] = {"ca.crl.der", NULL};
    server("srv-revoked.pem", "srv-revoked.key", der, IOTLS_ERR_CERT_REVOKED, NULL, 0);
    server("srv-ok.pem", "srv-ok.key", der, IOTLS_OK, NULL, 0);
}

/* A CRL that cannot decide refuses every chain, revoked or not. */
static void test_unusable_crls(void)
{
    char detail[512];
    static const char *const expired[] = {"ca-expired.crl.pem", NULL};
    device("dev-ok.pem", "dev-ok.key", expired, IOTLS_ERR_CRL_UNUSABLE, detail, sizeof detail);
    CHECK(strstr(detail, "CRL") != NULL && strstr(detail, "expired") != NULL);
    device("dev-revoked.pem", "dev-revoked.key", expired, IOTLS_ERR_CRL_UNUSABLE, NULL, 0);
    server("srv-ok.pem", "srv-ok.key", expired, IOTLS_ERR_CRL_UNUSABLE, NULL, 0);

    /* Issued in the root's name, signed by another key, listing nothing. */
    static const char *const forged[] = {"forged.crl.pem", NULL};
    device("dev-ok.pem", "dev-ok.key", forged, IOTLS_ERR_CRL_UNUSABLE, NULL, 0);
    device("dev-revoked.pem", "dev-revoked.key", forged, IOTLS_ERR_CRL_UNUSABLE, NULL, 0);
    server("srv-revoked.pem", "srv-revoked.key", forged, IOTLS_ERR_CRL_UNUSABLE, NULL, 0);

    /* Only an unrelated CA's CRL: nothing would check the root's devices. */
    static const char *const other[] = {"other.crl.pem", NULL};
    device("dev-revoked.pem", "dev-revoked.key", other, IOTLS_ERR_CRL_UNUSABLE, detail,
           sizeof detail);
    CHECK(strstr(detail, "no CRL") != NULL && strstr(detail, "CN=iotls crl root CA") != NULL);
    /* With the root's as well, the other one does no harm. */
    static const char *const with_root[] = {"other.crl.pem", "ca.crl.pem", NULL};
    device("dev-ok.pem", "dev-ok.key", with_root, IOTLS_OK, NULL, 0);
    device("dev-revoked.pem", "dev-revoked.key", with_root, IOTLS_ERR_CERT_REVOKED, NULL, 0);
}

static void test_intermediate(void)
{
    char detail[512], serial[64], want[320];
    /* The root's and the intermediate's CRL, from one PEM file. */
    static const char *const both[] = {"both.crl.pem", NULL};
    device("idev-ok-chain.pem", "idev-ok.key", both, IOTLS_OK, NULL, 0);
    device("idev-revoked-chain.pem", "idev-revoked.key", both, IOTLS_ERR_CERT_REVOKED, detail,
           sizeof detail);
    serial_of("idev-revoked", serial, sizeof serial);
    snprintf(want, sizeof want,
             "client certificate 'CN=fleet-device-revoked, O=iotls test' (serial %s) is on the "
             "CRL of 'CN=iotls crl fleet CA, O=iotls test'",
             serial);
    check_revoked_detail(detail, want);
    /* The same two from two calls. */
    static const char *const two[] = {"int.crl.pem", "ca.crl.pem", NULL};
    device("idev-ok-chain.pem", "idev-ok.key", two, IOTLS_OK, NULL, 0);
    device("idev-revoked-chain.pem", "idev-revoked.key", two, IOTLS_ERR_CERT_REVOKED, NULL, 0);
    /* The root's CRL alone does not cover the intermediate's devices. */
    device("idev-ok-chain.pem", "idev-ok.key", ca_crl, IOTLS_ERR_CRL_UNUSABLE, NULL, 0);
    /* The intermediate's alone: the intermediate itself is not checked. */
    static const char *const int_only[] = {"int.crl.pem", NULL};
    device("idev-ok-chain.pem", "idev-ok.key", int_only, IOTLS_OK, NULL, 0);
    /* The root revoked the intermediate: its devices are refused, the
     * detail naming the intermediate. */
    static const char *const int_revoked[] = {"int.crl.pem", "ca-revokes-int.crl.pem", NULL};
    device("idev-ok-chain.pem", "idev-ok.key", int_revoked, IOTLS_ERR_CERT_REVOKED, detail,
           sizeof detail);
    serial_of("int", serial, sizeof serial);
    snprintf(want, sizeof want,
             "client certificate 'CN=fleet-device-ok, O=iotls test': its CA certificate "
             "'CN=iotls crl fleet CA, O=iotls test' (serial %s) is on the CRL of "
             "'O=iotls test, CN=iotls crl root CA'",
             serial);
    check_revoked_detail(detail, want);
}

static void test_config_errors(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    if (!cfg)
        return;
    const char *missing = path("no-such.crl");
    CHECK_RC(iotls_config_set_crl_file(cfg, missing), IOTLS_ERR_KEY_LOAD);
    CHECK(strstr(iotls_config_error(cfg), missing) != NULL);
    CHECK(strstr(iotls_config_error(cfg), "No such file") != NULL);
    /* A certificate is no CRL. */
    const char *cert = path("ca.pem");
    CHECK_RC(iotls_config_set_crl_file(cfg, cert), IOTLS_ERR_KEY_LOAD);
    CHECK(strstr(iotls_config_error(cfg), cert) != NULL);
    CHECK(strstr(iotls_config_error(cfg), "not a CRL") != NULL);
    fprintf(stderr, "  config error: %s\n", iotls_config_error(cfg));
    /* A PEM file whose second CRL is damaged adds nothing. */
    CHECK_OK(tl_run_quiet(g_dir, "sed '$d' both.crl.pem >cut.crl.pem"));
    CHECK_RC(iotls_config_set_crl_file(cfg, path("cut.crl.pem")), IOTLS_ERR_KEY_LOAD);
    static const uint8_t junk[] = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
    CHECK_RC(iotls_config_set_crl_mem(cfg, junk, sizeof junk - 1), IOTLS_ERR_KEY_LOAD);
    CHECK_RC(iotls_config_set_crl_mem(cfg, junk, 0), IOTLS_ERR_BAD_ARG);
    iotls_config_free(cfg);

    /* After a failed load the configuration refuses every chain, even
     * with a good CRL loaded too. */
    iotls_config *scfg = make_cfg("srv-ok.pem", "srv-ok.key", ca_crl);
    iotls_config *ccfg = make_cfg("dev-ok.pem", "dev-ok.key", NULL);
    if (scfg && ccfg) {
        CHECK_OK(iotls_config_set_verify_client(scfg, IOTLS_VERIFY_CLIENT_REQUIRED));
        handshake(ccfg, scfg, 1, IOTLS_OK, NULL, 0);
        CHECK_RC(iotls_config_set_crl_file(scfg, missing), IOTLS_ERR_KEY_LOAD);
        char detail[512];
        handshake(ccfg, scfg, 1, IOTLS_ERR_CRL_UNUSABLE, detail, sizeof detail);
        CHECK(strstr(detail, "failed to load") != NULL);
    }
    iotls_config_free(scfg);
    iotls_config_free(ccfg);

    /* In memory, as firmware without a file system loads it. */
    FILE *f = fopen(path("ca.crl.pem"), "rb");
    CHECK(f != NULL);
    if (f) {
        static uint8_t pem[8192];
        size_t n = fread(pem, 1, sizeof pem, f);
        fclose(f);
        iotls_config *c2 = make_cfg(NULL, NULL, NULL);
        iotls_config *s2 = make_cfg("srv-revoked.pem", "srv-revoked.key", NULL);
        if (c2 && s2) {
            CHECK_OK(iotls_config_set_crl_mem(c2, pem, n));
            handshake(c2, s2, 0, IOTLS_ERR_CERT_REVOKED, NULL, 0);
        }
        iotls_config_free(c2);
        iotls_config_free(s2);
    }
}

/* ---------------- resumption ---------------- */

static uint64_t clock_now(void *arg)
{
    (void)arg;
    return 1700000000000ull; /* tickets need a clock; its value does not matter */
}

typedef struct {
    uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    size_t len;
} ticket_store;

static void store_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *t)
{
    (void)conn;
    ticket_store *st = arg;
    iotls_session s;
    CHECK_OK(iotls_session_from_ticket(&s, t));
    CHECK_OK(iotls_session_save(&s, st->blob, sizeof st->blob, &st->len));
}

/* Our server (crls: its CRL files) asking for a client certificate and
 * issuing tickets under one fixed key. */
static iotls_config *ticket_server(const char *const *crls)
{
    static const uint8_t key[48] = {1, 2, 3};
    iotls_config *cfg = make_cfg("srv-ok.pem", "srv-ok.key", crls);
    if (cfg) {
        CHECK_OK(iotls_config_set_verify_client(cfg, IOTLS_VERIFY_CLIENT_REQUIRED));
        CHECK_OK(iotls_config_set_tickets(cfg, 1));
        CHECK_OK(iotls_config_set_ticket_key(cfg, key));
        CHECK_OK(iotls_config_set_time_cb(cfg, clock_now, NULL));
    }
    return cfg;
}

/* One connection of ccfg to scfg, offering st's session when it holds one;
 * returns the server's error (IOTLS_OK when both finished) and whether the
 * server resumed. */
static int connect_once(iotls_config *ccfg, iotls_config *scfg, ticket_store *st, int *resumed)
{
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, "localhost");
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    int rc = IOTLS_ERR_INTERNAL;
    *resumed = 0;
    if (cl && sv) {
        if (st->len > 0)
            CHECK_OK(iotls_conn_borrow_session(cl, st->blob, st->len));
        st->len = 0;
        CHECK_OK(iotls_conn_start(sv));
        CHECK_OK(iotls_conn_start(cl));
        (void)iotls__mem_pair_run(cl, sv, NULL);
        /* The tickets follow the server's handshake. */
        for (int i = 0; i < 4; i++)
            (void)iotls__mem_pair_step(cl, sv, NULL, NULL);
        rc = iotls_conn_error(sv);
        if (rc == IOTLS_OK && !(iotls_conn_handshake_done(sv) && iotls_conn_handshake_done(cl)))
            rc = IOTLS_ERR_INTERNAL;
        *resumed = sv->resumed;
    }
    tl_conn_free(cl);
    tl_conn_free(sv);
    return rc;
}

/* A ticket does not carry what a CRL lists: a server with CRLs does not
 * resume a certificate-authenticated session, so a device revoked after it
 * got its ticket is refused on its next connection. */
static void test_resumption(void)
{
    ticket_store st = {.len = 0};
    iotls_config *plain = ticket_server(NULL);
    iotls_config *with_crl = ticket_server(ca_crl);
    iotls_config *dev = make_cfg("dev-revoked.pem", "dev-revoked.key", NULL);
    if (plain && with_crl && dev) {
        CHECK_OK(iotls_config_set_ticket_cb(dev, store_ticket, &st));
        CHECK_OK(iotls_config_set_time_cb(dev, clock_now, NULL));
        int resumed = 0;
        /* Without a CRL: a ticket, then a resumption (what is refused
         * below would otherwise work). */
        CHECK_OK(connect_once(dev, plain, &st, &resumed));
        CHECK(st.len > 0 && !resumed);
        CHECK_OK(connect_once(dev, plain, &st, &resumed));
        CHECK(resumed);
        /* The gateways got the CRL that revokes it: the ticket from before
         * does not let it in. */
        CHECK(st.len > 0);
        CHECK_RC(connect_once(dev, with_crl, &st, &resumed), IOTLS_ERR_CERT_REVOKED);
        CHECK(!resumed);
    }
    iotls_config_free(plain);
    iotls_config_free(with_crl);
    iotls_config_free(dev);

    /* A device not revoked connects in full every time. */
    st.len = 0;
    with_crl = ticket_server(ca_crl);
    dev = make_cfg("dev-ok.pem", "dev-ok.key", NULL);
    if (with_crl && dev) {
        CHECK_OK(iotls_config_set_ticket_cb(dev, store_ticket, &st));
        CHECK_OK(iotls_config_set_time_cb(dev, clock_now, NULL));
        int resumed = 1;
        CHECK_OK(connect_once(dev, with_crl, &st, &resumed));
        CHECK(st.len > 0 && !resumed);
        CHECK_OK(connect_once(dev, with_crl, &st, &resumed));
        CHECK(!resumed);
    }
    iotls_config_free(with_crl);
    iotls_config_free(dev);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/iotls-crl-test-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "bash %s/tests/interop/crl_pki.sh %s/pki && mv %s/pki/* %s",
             IOTLS_SOURCE_DIR, g_dir, g_dir, g_dir);
    if (tl_run_quiet(g_dir, cmd) != 0) {
        fprintf(stderr,
                "openssl command missing or failed: cannot make the CRL test PKI (see "
                "%s/openssl-gen.log)\n",
                g_dir);
        CHECK(0);
    } else {
        test_server_refuses_revoked_device();
        test_client_refuses_revoked_server();
        test_unusable_crls();
        test_intermediate();
        test_config_errors();
        test_resumption();
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return tl_finish("crl");
}
