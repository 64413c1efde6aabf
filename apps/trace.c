/* "-v" output: each handshake step as it happens, then a summary. */
#include "trace.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "iotls/engine.h"
#include "iotls/pki.h"

static _Thread_local trace_state ts;

void trace_save(trace_state *out)
{
    *out = ts;
}

void trace_load(const trace_state *in)
{
    ts = *in;
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

void trace_begin(const char *tag)
{
    ts.t0 = ts.last = mono_ms();
    ts.started = 1;
    snprintf(ts.tag, sizeof ts.tag, "%s", tag ? tag : "");
}

double trace_elapsed_ms(void)
{
    return ts.started ? mono_ms() - ts.t0 : 0.0;
}

const char *trace_hs_name(int hs_type)
{
    switch (hs_type) {
    case 1:
        return "ClientHello";
    case 2:
        return "ServerHello";
    case 4:
        return "NewSessionTicket";
    case 5:
        return "EndOfEarlyData";
    case 8:
        return "EncryptedExtensions";
    case 11:
        return "Certificate";
    case 13:
        return "CertificateRequest";
    case 15:
        return "CertificateVerify";
    case 20:
        return "Finished";
    case 24:
        return "KeyUpdate";
    default:
        return "unknown handshake message";
    }
}

static void on_event(void *arg, const iotls_conn *conn, const iotls_event *ev)
{
    (void)conn;
    FILE *out = arg;
    if (!ts.started)
        trace_begin("");
    double now = mono_ms();
    char line[200];
    switch (ev->kind) {
    case IOTLS_EV_HS_SENT:
        snprintf(line, sizeof line, "-> %s (%zu bytes)", trace_hs_name(ev->hs_type), ev->len);
        break;
    case IOTLS_EV_HS_RECEIVED:
        snprintf(line, sizeof line, "<- %s (%zu bytes)", trace_hs_name(ev->hs_type), ev->len);
        break;
    case IOTLS_EV_KEYS_READ:
        snprintf(line, sizeof line, "   keys switch: now reading with %s keys",
                 ev->detail ? ev->detail : "new");
        break;
    case IOTLS_EV_KEYS_WRITE:
        snprintf(line, sizeof line, "   keys switch: now writing with %s keys",
                 ev->detail ? ev->detail : "new");
        break;
    case IOTLS_EV_ALERT_SENT:
        snprintf(line, sizeof line, "-> alert %s", iotls_alert_name(ev->value));
        break;
    case IOTLS_EV_ALERT_RECEIVED:
        snprintf(line, sizeof line, "<- alert %s", iotls_alert_name(ev->value));
        break;
    case IOTLS_EV_CCS_SENT:
        snprintf(line, sizeof line, "-> ChangeCipherSpec (middlebox compatibility, ignored)");
        break;
    case IOTLS_EV_CCS_RECEIVED:
        snprintf(line, sizeof line, "<- ChangeCipherSpec (middlebox compatibility, ignored)");
        break;
    case IOTLS_EV_HANDSHAKE_DONE:
        snprintf(line, sizeof line, "   handshake complete");
        break;
    case IOTLS_EV_HRR:
        /* A server's detail says whether it carried a cookie. */
        snprintf(line, sizeof line, "   HelloRetryRequest%s%s: key share for %s needed",
                 ev->detail ? " " : "", ev->detail ? ev->detail : "",
                 iotls_group_name((uint16_t)ev->value));
        break;
    case IOTLS_EV_CERT_VERIFIED:
        if (ev->value)
            snprintf(line, sizeof line, "   peer certificate chain (%zu) NOT verified: --insecure",
                     ev->len);
        else
            snprintf(line, sizeof line, "   peer certificate chain (%zu) %s", ev->len,
                     ev->detail ? ev->detail : "verified");
        break;
    case IOTLS_EV_KEY_UPDATE:
        snprintf(line, sizeof line, "%s KeyUpdate", ev->value ? "->" : "<-");
        break;
    default:
        snprintf(line, sizeof line, "   event %d", ev->kind);
        break;
    }
    fprintf(out, "%s%9.2f ms (+%6.2f)  %s\n", ts.tag, now - ts.t0, now - ts.last, line);
    fflush(out);
    ts.last = now;
}

void trace_install(iotls_config *cfg, FILE *out)
{
    iotls_config_set_trace(cfg, on_event, out);
}

static void utc(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, cap, "?");
}

/* Validity, names and the SPKI pin of one certificate, in the forms --pin
 * takes. */
static void print_cert_more(FILE *out, const iotls_cert_text *text)
{
    char t_from[40], t_to[40], hex[65];
    if (text->not_before != 0 || text->not_after != 0) {
        utc(text->not_before, t_from, sizeof t_from);
        utc(text->not_after, t_to, sizeof t_to);
        fprintf(out, "%s      valid:   %s to %s\n", ts.tag, t_from, t_to);
    }
    fprintf(out, "%s      names:   %s\n", ts.tag, text->names[0] ? text->names : "none");
    if (text->pin_base64[0] != '\0') {
        for (size_t i = 0; i < sizeof text->spki_sha256; i++)
            snprintf(hex + 2 * i, 3, "%02x", text->spki_sha256[i]);
        fprintf(out, "%s      pin:     sha256//%s\n%s               %s\n", ts.tag, text->pin_base64,
                ts.tag, hex);
    }
}

static void print_chain(FILE *out, const iotls_conn *c)
{
    size_t n = c ? iotls_conn_peer_cert_count(c) : 0;
    if (n == 0) {
        fprintf(out, "%s  peer chain:     none\n", ts.tag);
        return;
    }
    fprintf(out, "%s  peer chain:     %zu certificate%s\n", ts.tag, n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *der;
        size_t len;
        iotls_cert_text text;
        if (iotls_conn_peer_cert_der(c, i, &der, &len) != IOTLS_OK ||
            iotls_cert_describe(der, len, &text) != IOTLS_OK)
            break;
        fprintf(out, "%s    %zu subject: %s\n%s      issuer:  %s\n%s      key:     %s\n", ts.tag, i,
                text.subject, ts.tag, text.issuer, ts.tag, text.key);
        print_cert_more(out, &text);
    }
}

void trace_print_certs(FILE *out, iotls *t)
{
    print_chain(out, iotls_engine(t));
    fflush(out);
}

static void summary(FILE *out, const iotls_conn *c, const iotls_info *ip, int is_client);

void trace_summary(FILE *out, iotls *t, int is_client)
{
    iotls_info info;
    if (iotls_get_info(t, &info) != IOTLS_OK)
        return;
    summary(out, iotls_engine(t), &info, is_client);
}

void trace_summary_conn(FILE *out, const iotls_conn *c, int is_client)
{
    iotls_info info;
    if (iotls_conn_info(c, &info) != IOTLS_OK)
        return;
    summary(out, c, &info, is_client);
}

static void summary(FILE *out, const iotls_conn *c, const iotls_info *ip, int is_client)
{
    iotls_info info = *ip;
    const char *tag = ts.tag;
    fprintf(out, "%s--- handshake summary (%.2f ms)\n", tag, trace_elapsed_ms());
    fprintf(out, "%s  version:        %s\n", tag, info.version == 0x0304 ? "TLSv1.3" : "unknown");
    fprintf(out, "%s  cipher suite:   %s\n", tag, info.cipher_suite_name);
    fprintf(out, "%s  key exchange:   %s%s\n", tag, info.group_name,
            info.hrr ? " (after HelloRetryRequest)" : "");
    fprintf(out, "%s  peer signature: %s\n", tag, info.sig_scheme_name);
    fprintf(out, "%s  own signature:  %s\n", tag, iotls_sig_scheme_name(info.own_sig_scheme));
    fprintf(out, "%s  ALPN:           %s\n", tag, info.alpn && info.alpn[0] ? info.alpn : "none");
    fprintf(out, "%s  server name:    %s\n", tag,
            info.server_name && info.server_name[0] ? info.server_name : "none");
    fprintf(out, "%s  resumed:        %s\n", tag,
            info.resumed        ? "yes, ticket"
            : info.external_psk ? "no, external PSK"
                                : "no, full handshake");
    print_chain(out, c);
    if (info.peer_chain_len > 0)
        fprintf(out, "%s  peer verified:  %s\n", tag,
                info.peer_cert_verified                 ? "yes"
                : info.peer_auth == IOTLS_PEER_AUTH_PIN ? "no, but its key matches a pin"
                                                        : "NO (verification disabled)");
    /* What authenticated the peer: a checked name, a pin, the CA (a
     * client), the external PSK, or the ticket's connection. */
    fprintf(out, "%s  peer auth:      %s\n", tag, iotls_peer_auth_name(info.peer_auth));
    if (!is_client)
        fprintf(out, "%s  client auth:    %s%s\n", tag, info.client_auth ? "yes" : "no",
                info.client_auth && info.resumed ? " (from the ticket)" : "");
    if (!is_client && info.client_auth && info.peer_chain_len == 0) {
        /* Resumed: no chain to print; the identity the ticket carried. */
        char spki[65] = "unknown", subject[256];
        uint8_t hash[32];
        if (iotls_conn_peer_spki_sha256(c, hash) == IOTLS_OK)
            for (size_t i = 0; i < sizeof hash; i++)
                snprintf(spki + 2 * i, 3, "%02x", hash[i]);
        (void)iotls_conn_peer_text(c, IOTLS_PEER_SUBJECT, subject, sizeof subject);
        fprintf(out, "%s  client:         %s, SPKI SHA-256 %s\n", tag, subject, spki);
    }
    /* A round trip is one flight of the peer answering one of ours: the
     * client counts the server's flights; the server the client flights
     * that answered one of its own (all but the ClientHello: its own
     * flights include the session tickets, which nobody answers). */
    unsigned rtts = is_client ? info.flights_in : info.flights_in > 0 ? info.flights_in - 1 : 0;
    fprintf(out, "%s  flights:        %u sent, %u received (%u round trip%s)\n", tag,
            info.flights_out, info.flights_in, rtts, rtts == 1 ? "" : "s");
    fprintf(out, "%s  bytes:          %llu sent in %llu records, %llu received in %llu records\n",
            tag, (unsigned long long)info.bytes_out, (unsigned long long)info.records_out,
            (unsigned long long)info.bytes_in, (unsigned long long)info.records_in);
    fflush(out);
}
