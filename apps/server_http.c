/* HTTP/1.x request heads in, responses out, for `iotls server --http`. */
#include "server_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iotls/features.h"

#define HTTP_HEAD_MAX 256
#define HTTP_PAGE_MAX 2048

size_t http_head_len(const char *req, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(req + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    return 0;
}

/* Value of header name in the request head (NUL-ended), copied into out. */
static int header_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line) {
        line += 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t len = end ? (size_t)(end - v) : strlen(v);
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 1;
        }
        line = strstr(line, "\r\n");
    }
    return 0;
}

/* Headers and body in one buffer, so one record (one AEAD operation, one
 * record's 22 bytes of overhead) per response while it fits a record. */
static void build(char *out, int status, const char *reason, const char *body, int keep_alive,
                  http_answer *ans)
{
    size_t body_len = strlen(body);
    int n = snprintf(out, HTTP_HEAD_MAX,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\nServer: iotls/%s\r\n\r\n",
                     status, reason, body_len, keep_alive ? "keep-alive" : "close", IOTLS_VERSION);
    if (n < 0 || n >= HTTP_HEAD_MAX || body_len > HTTP_RESPONSE_MAX - (size_t)n) {
        n = 0; /* cannot happen: the page is at most HTTP_PAGE_MAX - 1 */
        body_len = 0;
    }
    memcpy(out + n, body, body_len);
    ans->len = (size_t)n + body_len;
    ans->keep_alive = keep_alive;
}

static void describe_page(const iotls_conn *tls, const iotls_info *info, const char *method,
                          const char *path, char *out, size_t cap)
{
    /* The client's key names it even when its subject does not (and on a
     * resumed connection it is what the ticket carried). */
    char spki[2 * 32 + 1] = "none", subject[256] = "";
    uint8_t hash[32];
    if (info->client_auth && iotls_conn_peer_spki_sha256(tls, hash) == IOTLS_OK)
        for (size_t i = 0; i < sizeof hash; i++)
            snprintf(spki + 2 * i, 3, "%02x", hash[i]);
    if (info->client_auth)
        (void)iotls_conn_peer_text(tls, IOTLS_PEER_SUBJECT, subject, sizeof subject);
    snprintf(out, cap,
             "iotls server: TLS 1.3 connection established\n"
             "request:      %s %s\n"
             "version:      TLSv1.3\n"
             "cipher suite: %s\n"
             "group:        %s%s\n"
             "signature:    %s\n"
             "ALPN:         %s\n"
             "server name:  %s\n"
             "client:       %s%s\n"
             "client key:   SPKI SHA-256 %s\n"
             "peer auth:    %s\n",
             method, path, info->cipher_suite_name, info->group_name,
             info->hrr ? " (after HelloRetryRequest)" : "",
             iotls_sig_scheme_name(info->own_sig_scheme),
             info->alpn && info->alpn[0] ? info->alpn : "none",
             info->server_name && info->server_name[0] ? info->server_name : "none",
             info->client_auth ? subject : "anonymous",
             !info->client_auth ? ""
             : info->resumed    ? " (certificate verified when the ticket was issued)"
                                : " (certificate verified)",
             spki, iotls_peer_auth_name(info->peer_auth));
}

void http_answer_request(const char *head_in, size_t head_len, const iotls_conn *tls,
                         const iotls_info *info, char *out, http_answer *ans)
{
    char head[HTTP_MAX_REQUEST + 1];
    if (head_len > HTTP_MAX_REQUEST)
        head_len = HTTP_MAX_REQUEST;
    memcpy(head, head_in, head_len);
    head[head_len] = '\0';
    ans->content_length = 0;
    char method[16] = "", path[1024] = "", version[16] = "";
    if (sscanf(head, "%15s %1023s %15s", method, path, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0) {
        build(out, 400, "Bad Request", "not an HTTP/1.x request\n", 0, ans);
        return;
    }
    char value[64];
    int keep_alive = strcmp(version, "HTTP/1.0") != 0;
    if (header_value(head, "Connection", value, sizeof value))
        keep_alive =
            strcasecmp(value, "keep-alive") == 0 || (keep_alive && strcasecmp(value, "close") != 0);
    /* The body means nothing to us: the caller drops it. */
    if (header_value(head, "Content-Length", value, sizeof value))
        ans->content_length = (size_t)strtoul(value, NULL, 10);
    char page[HTTP_PAGE_MAX];
    if (info)
        describe_page(tls, info, method, path, page, sizeof page);
    else
        snprintf(page, sizeof page, "iotls server\n");
    build(out, 200, "OK", page, keep_alive, ans);
}

void http_answer_too_large(char *out, http_answer *ans)
{
    build(out, 431, "Request Header Fields Too Large", "request too large\n", 0, ans);
    ans->content_length = 0;
}
