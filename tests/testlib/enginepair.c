#include "enginepair.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

iotls_conn *tl_conn_new(const iotls_config *cfg, int role, const char *name)
{
    size_t need = iotls_conn_size(cfg);
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    if (!mem)
        return NULL;
    iotls_conn *c = iotls_conn_init(mem, need, cfg, role, name);
    if (!c)
        free(mem);
    return c;
}

void tl_conn_free(iotls_conn *c)
{
    if (c) {
        iotls_conn_free(c);
        free(c);
    }
}

int tl_shuttle(iotls_conn *from, tl_wire *w, iotls_conn *to, tl_wire *copy)
{
    int progress = 0;
    size_t n;
    const uint8_t *p = iotls_conn_output(from, &n);
    if (p && n <= sizeof w->buf - w->len) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        if (copy && n <= sizeof copy->buf - copy->len) {
            memcpy(copy->buf + copy->len, p, n);
            copy->len += n;
        }
        iotls_conn_output_consume(from, n);
        progress = 1;
    }
    if (w->len == 0)
        return progress;
    size_t used = 0;
    int rc = iotls_conn_input(to, w->buf, w->len, &used);
    memmove(w->buf, w->buf + used, w->len - used);
    w->len -= used;
    if (rc != IOTLS_OK)
        return rc;
    return progress || used > 0;
}

int tl_handshake(iotls_conn *cl, tl_wire *to_sv, iotls_conn *sv, tl_wire *to_cl)
{
    for (int i = 0; i < 50 && !(iotls_conn_handshake_done(sv) && iotls_conn_handshake_done(cl));
         i++) {
        int a = tl_shuttle(cl, to_sv, sv, NULL);
        int b = tl_shuttle(sv, to_cl, cl, NULL);
        if (a < 0 || b < 0 || (a == 0 && b == 0))
            break;
    }
    return iotls_conn_handshake_done(sv) && iotls_conn_handshake_done(cl);
}

const char *tl_path_of(const char *dir, char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

int tl_run_quiet(const char *dir, const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof full, "cd %s && (%s) >>openssl-gen.log 2>&1", dir, cmd);
    int rc = system(full);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

int tl_openssl_pki(const char *dir, const char *ca_cn, const char *client_cn)
{
    char ca_req[512], cli_req[512];
    snprintf(ca_req, sizeof ca_req,
             "openssl req -x509 -new -key ca.key -subj '/CN=%s' -days 2 -out ca.pem"
             " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
             ca_cn);
    snprintf(cli_req, sizeof cli_req,
             "openssl req -new -key cli.key -subj /CN=%s -out cli.csr && openssl x509 -req"
             " -in cli.csr -CA ca.pem -CAkey ca.key -set_serial 12 -days 2 -extfile cli.ext"
             " -out cli.pem",
             client_cn);
    const char *const cmds[] = {
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key",
        ca_req,
        "printf 'subjectAltName=DNS:localhost\\nextendedKeyUsage=serverAuth\\n"
        "keyUsage=critical,digitalSignature\\nbasicConstraints=CA:FALSE\\n' >srv.ext",
        "printf 'extendedKeyUsage=clientAuth\\nkeyUsage=critical,digitalSignature\\n"
        "basicConstraints=CA:FALSE\\n' >cli.ext",
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out srv.key",
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out cli.key",
        "openssl req -new -key srv.key -subj /CN=localhost -out srv.csr && openssl x509 -req"
        " -in srv.csr -CA ca.pem -CAkey ca.key -set_serial 11 -days 2 -extfile srv.ext"
        " -out srv.pem",
        cli_req,
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (tl_run_quiet(dir, cmds[i]) != 0)
            return -1;
    return 0;
}

int tl_make_pki(const char *ca_subject, const iotls_cert_spec *leaf, char *ca_key, char *ca_cert,
                char *leaf_key, char *leaf_cert, size_t cap)
{
    iotls_cert_spec ca = {.subject = ca_subject, .is_ca = 1};
    int rc = iotls_pki_make_key(IOTLS_KEY_EC_P256, ca_key, cap);
    if (rc == IOTLS_OK)
        rc = iotls_pki_make_cert(&ca, ca_key, NULL, NULL, ca_cert, cap);
    if (rc == IOTLS_OK)
        rc = iotls_pki_make_key(IOTLS_KEY_EC_P256, leaf_key, cap);
    if (rc == IOTLS_OK)
        rc = iotls_pki_make_cert(leaf, leaf_key, ca_key, ca_cert, leaf_cert, cap);
    return rc;
}

void tl_keylog_cb(void *arg, const char *line)
{
    tl_keylog *k = arg;
    const char *sp1 = strchr(line, ' ');
    const char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || k->count >= 8 || (size_t)(sp1 - line) >= sizeof k->label[0]) {
        k->malformed = 1;
        return;
    }
    size_t i = k->count;
    memcpy(k->label[i], line, (size_t)(sp1 - line));
    k->label[i][sp1 - line] = '\0';
    const char *hex = sp2 + 1;
    size_t hex_len = strlen(hex);
    if (hex_len % 2 != 0 || hex_len / 2 > IOTLS_MAX_HASH_LEN || hex_len == 0) {
        k->malformed = 1;
        return;
    }
    for (size_t j = 0; j < hex_len / 2; j++) {
        int hi = tl_hexval(hex[2 * j]), lo = tl_hexval(hex[2 * j + 1]);
        if (hi < 0 || lo < 0) {
            k->malformed = 1;
            return;
        }
        k->secret[i][j] = (uint8_t)(hi << 4 | lo);
    }
    k->secret_len[i] = hex_len / 2;
    k->count++;
}
