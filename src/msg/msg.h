/* Handshake messages and extensions (RFC 8446 section 4): one file per
 * message in src/msg/, each with an encoder and a bounds-checked parser into
 * a plain struct. Parsers take the message BODY (after the 4-byte handshake
 * header) and return views (iotls_bytes) into it; they check syntax, lengths,
 * duplicate extensions (IOTLS_ERR_ILLEGAL_PARAMETER) and extensions that are
 * not allowed in that message (RFC 8446 4.2 table: IOTLS_ERR_ILLEGAL_PARAMETER),
 * nothing semantic (the state machines do that). Writers write the WHOLE
 * message, 4-byte header included, through an iotls_writer, and the caller
 * checks iotls__wr_error() once. */
#ifndef IOTLS_MSG_H
#define IOTLS_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum {
    IOTLS_HS_CLIENT_HELLO = 1,
    IOTLS_HS_SERVER_HELLO = 2,
    IOTLS_HS_NEW_SESSION_TICKET = 4,
    IOTLS_HS_END_OF_EARLY_DATA = 5,
    IOTLS_HS_ENCRYPTED_EXTENSIONS = 8,
    IOTLS_HS_CERTIFICATE = 11,
    IOTLS_HS_CERTIFICATE_REQUEST = 13,
    IOTLS_HS_CERTIFICATE_VERIFY = 15,
    IOTLS_HS_FINISHED = 20,
    IOTLS_HS_KEY_UPDATE = 24,
    IOTLS_HS_MESSAGE_HASH = 254,
};

#define IOTLS_HS_HEADER_LEN 4
#define IOTLS_TLS13 0x0304
#define IOTLS_TLS12 0x0303

/* Extension code points. */
enum {
    IOTLS_EXT_SERVER_NAME = 0,
    IOTLS_EXT_MAX_FRAGMENT_LENGTH = 1,
    IOTLS_EXT_STATUS_REQUEST = 5,
    IOTLS_EXT_SUPPORTED_GROUPS = 10,
    IOTLS_EXT_EC_POINT_FORMATS = 11,
    IOTLS_EXT_SIGNATURE_ALGORITHMS = 13,
    IOTLS_EXT_USE_SRTP = 14,
    IOTLS_EXT_HEARTBEAT = 15,
    IOTLS_EXT_ALPN = 16,
    IOTLS_EXT_SCT = 18,
    IOTLS_EXT_CLIENT_CERT_TYPE = 19,
    IOTLS_EXT_SERVER_CERT_TYPE = 20,
    IOTLS_EXT_PADDING = 21,
    IOTLS_EXT_RECORD_SIZE_LIMIT = 28,
    IOTLS_EXT_PRE_SHARED_KEY = 41,
    IOTLS_EXT_EARLY_DATA = 42,
    IOTLS_EXT_SUPPORTED_VERSIONS = 43,
    IOTLS_EXT_COOKIE = 44,
    IOTLS_EXT_PSK_KEY_EXCHANGE_MODES = 45,
    IOTLS_EXT_CERTIFICATE_AUTHORITIES = 47,
    IOTLS_EXT_OID_FILTERS = 48,
    IOTLS_EXT_POST_HANDSHAKE_AUTH = 49,
    IOTLS_EXT_SIGNATURE_ALGORITHMS_CERT = 50,
    IOTLS_EXT_KEY_SHARE = 51,
};

/* Bit numbers for the "exts_seen" masks: one per extension iotls knows. */
enum iotls_ext_id {
    IOTLS_EXTID_SERVER_NAME,
    IOTLS_EXTID_MAX_FRAGMENT_LENGTH,
    IOTLS_EXTID_STATUS_REQUEST,
    IOTLS_EXTID_SUPPORTED_GROUPS,
    IOTLS_EXTID_SIGNATURE_ALGORITHMS,
    IOTLS_EXTID_ALPN,
    IOTLS_EXTID_PADDING,
    IOTLS_EXTID_RECORD_SIZE_LIMIT,
    IOTLS_EXTID_PRE_SHARED_KEY,
    IOTLS_EXTID_EARLY_DATA,
    IOTLS_EXTID_SUPPORTED_VERSIONS,
    IOTLS_EXTID_COOKIE,
    IOTLS_EXTID_PSK_KEY_EXCHANGE_MODES,
    IOTLS_EXTID_CERTIFICATE_AUTHORITIES,
    IOTLS_EXTID_POST_HANDSHAKE_AUTH,
    IOTLS_EXTID_SIGNATURE_ALGORITHMS_CERT,
    IOTLS_EXTID_KEY_SHARE,
    IOTLS_EXTID_OTHER, /* any extension iotls does not know */
    IOTLS_EXTID_COUNT
};
#define IOTLS_EXT_BIT(id) (1u << (id))

/* Extension type → id (IOTLS_EXTID_OTHER when unknown). */
enum iotls_ext_id iotls__ext_id_of(uint16_t ext_type);
/* 1 when RFC 8446's table (4.2) allows ext_type in message hs_type;
 * extensions iotls does not know are "allowed" (ignored) in ClientHello,
 * CertificateRequest and NewSessionTicket only. HelloRetryRequest is passed
 * as hs_type IOTLS_HS_SERVER_HELLO with is_hrr = 1. */
int iotls__ext_allowed(uint16_t ext_type, uint8_t hs_type, int is_hrr);

/* Handshake header helpers: begin writes type and a 3-byte length
 * placeholder, end fills it in. */
size_t iotls__msg_begin(iotls_writer *w, uint8_t hs_type);
void iotls__msg_end(iotls_writer *w, size_t mark);

/* u16 lists (cipher suites, groups, signature schemes, versions). */
int iotls__u16_list_contains(iotls_bytes list, uint16_t value);
size_t iotls__u16_list_count(iotls_bytes list);
uint16_t iotls__u16_list_get(iotls_bytes list, size_t i);

/* ---------------- ClientHello ---------------- */

typedef struct {
    uint16_t group;
    iotls_bytes key_exchange;
} iotls_key_share_entry;

typedef struct {
    uint16_t legacy_version;
    iotls_bytes random; /* 32 bytes */
    iotls_bytes session_id;
    iotls_bytes cipher_suites;       /* raw u16 list, even length >= 2 */
    iotls_bytes compression_methods; /* raw u8 list */
    uint32_t exts_seen;              /* IOTLS_EXT_BIT(id) of each extension present */
    uint16_t last_ext_type;          /* pre_shared_key must be last */
    iotls_bytes server_name;         /* the host_name entry; empty if none */
    iotls_bytes supported_versions;  /* raw u16 list */
    iotls_bytes supported_groups;    /* raw u16 list */
    iotls_bytes signature_algorithms;
    iotls_bytes signature_algorithms_cert;
    iotls_bytes key_shares; /* raw KeyShareEntry list, entries checked well-formed */
    iotls_bytes alpn;       /* raw ProtocolNameList body, names checked non-empty */
    iotls_bytes cookie;
    iotls_bytes psk_modes; /* raw u8 list */
    int early_data;        /* early_data extension present */
    int post_handshake_auth;
    uint16_t record_size_limit;  /* 0 when absent */
    uint8_t max_fragment_length; /* 0 when absent, else 1..4 */
    iotls_bytes psk_identities;  /* raw PskIdentity list */
    iotls_bytes psk_binders;     /* raw PskBinderEntry list */
    /* Offset, from the start of the whole message (header included), of the
     * binders vector's 2-byte length: the PSK binder covers msg[0..off). */
    size_t binders_offset;
} iotls_client_hello;

/* Parses a ClientHello body. Duplicate extension → ILLEGAL_PARAMETER;
 * pre_shared_key not last → ILLEGAL_PARAMETER; malformed → DECODE. Key share
 * entries with a duplicate group → ILLEGAL_PARAMETER. */
int iotls__client_hello_parse(const uint8_t *body, size_t len, iotls_client_hello *out);
/* Iterates KeyShareEntry list: *pos starts at 0; returns 1 and the entry,
 * 0 at the end (the list was validated by the parser). */
int iotls__key_share_next(iotls_bytes list, size_t *pos, iotls_key_share_entry *out);
/* Iterates an ALPN ProtocolNameList body: returns 1 and a name, 0 at end. */
int iotls__alpn_next(iotls_bytes list, size_t *pos, iotls_bytes *name);
/* Iterates PskIdentity list: 1 and identity + obfuscated age, 0 at end. */
int iotls__psk_identity_next(iotls_bytes list, size_t *pos, iotls_bytes *identity,
                             uint32_t *obfuscated_age);
/* Iterates PskBinderEntry list. */
int iotls__psk_binder_next(iotls_bytes list, size_t *pos, iotls_bytes *binder);

typedef struct {
    uint16_t group;
    const uint8_t *key;
    size_t key_len;
} iotls_key_share_param;

typedef struct {
    const uint8_t *identity;
    size_t identity_len;
    uint32_t obfuscated_age;
    size_t binder_len; /* HashLen of the PSK's suite */
} iotls_psk_param;

typedef struct {
    const uint8_t *random; /* 32 bytes */
    const uint8_t *session_id;
    size_t session_id_len; /* 0 or 32 (middlebox compatibility) */
    const uint16_t *suites;
    size_t suite_count;
    const char *server_name; /* NULL: no SNI (never sent for IP literals) */
    const uint16_t *groups;
    size_t group_count;
    const uint16_t *sig_algs;
    size_t sig_alg_count;
    const uint16_t *sig_algs_cert; /* NULL: extension not sent */
    size_t sig_alg_cert_count;
    const iotls_key_share_param *shares;
    size_t share_count;
    const uint8_t *alpn; /* ProtocolNameList body (len-prefixed names); NULL: none */
    size_t alpn_len;
    const uint8_t *cookie; /* from HelloRetryRequest; NULL: none */
    size_t cookie_len;
    uint16_t record_size_limit;  /* 0: not sent */
    int early_data;              /* send the early_data extension */
    int psk_dhe_ke;              /* offer psk_dhe_ke in psk_key_exchange_modes */
    int psk_ke;                  /* offer psk_ke */
    const iotls_psk_param *psks; /* NULL: no pre_shared_key extension */
    size_t psk_count;
    uint8_t max_fragment_length; /* RFC 6066 code 1..4; 0: not sent */
} iotls_client_hello_params;

/* Writes the whole ClientHello. With PSKs, binders are written as zeros of
 * binder_len and *binders_offset gets the same offset as the parser's
 * (the 2-byte binders length, from the message start); the caller computes
 * the binders over msg[0..binders_offset) and patches them with
 * iotls__client_hello_set_binder. */
int iotls__client_hello_write(iotls_writer *w, const iotls_client_hello_params *p,
                              size_t *binders_offset);
/* Overwrites binder i in a written ClientHello (msg = start of message). */
int iotls__client_hello_set_binder(uint8_t *msg, size_t msg_len, size_t binders_offset, size_t i,
                                   const uint8_t *binder, size_t binder_len);

/* ---------------- ServerHello / HelloRetryRequest ---------------- */

/* SHA-256("HelloRetryRequest"): the ServerHello.random of an HRR. */
extern const uint8_t iotls_hrr_random[32];

typedef struct {
    uint16_t legacy_version;
    iotls_bytes random;
    iotls_bytes session_id_echo;
    uint16_t cipher_suite;
    uint8_t compression_method;
    int is_hrr; /* random == iotls_hrr_random */
    uint32_t exts_seen;
    uint16_t selected_version;  /* 0 when supported_versions absent */
    uint16_t key_share_group;   /* SH: the server's share group; HRR: selected_group */
    iotls_bytes key_share;      /* SH only */
    iotls_bytes cookie;         /* HRR only */
    uint16_t selected_identity; /* pre_shared_key, when present */
} iotls_server_hello;

/* Extensions not allowed in SH/HRR → ILLEGAL_PARAMETER (per 4.2 table;
 * unknown ones too: a client never offers what it does not know). */
int iotls__server_hello_parse(const uint8_t *body, size_t len, iotls_server_hello *out);

typedef struct {
    const uint8_t *random; /* 32 bytes; ignored (iotls_hrr_random) for HRR */
    int is_hrr;
    const uint8_t *session_id_echo;
    size_t session_id_len;
    uint16_t cipher_suite;
    uint16_t key_share_group; /* SH: our group; HRR: selected_group; 0: no key_share (psk_ke) */
    const uint8_t *key_share; /* SH only */
    size_t key_share_len;
    const uint8_t *cookie; /* HRR only; NULL: none */
    size_t cookie_len;
    int has_psk;
    uint16_t selected_identity;
} iotls_server_hello_params;

int iotls__server_hello_write(iotls_writer *w, const iotls_server_hello_params *p);

/* ---------------- EncryptedExtensions ---------------- */

typedef struct {
    uint32_t exts_seen;
    iotls_bytes alpn;           /* the one selected protocol name */
    int server_name_ack;        /* empty server_name extension */
    int early_data;             /* early_data accepted */
    uint16_t record_size_limit; /* 0 when absent */
    uint8_t max_fragment_length;
    iotls_bytes supported_groups; /* raw; informational */
} iotls_encrypted_extensions;

int iotls__encrypted_extensions_parse(const uint8_t *body, size_t len,
                                      iotls_encrypted_extensions *out);

typedef struct {
    const uint8_t *alpn; /* selected name; NULL: none */
    size_t alpn_len;
    int server_name_ack;
    int early_data;
    uint16_t record_size_limit;  /* 0: not sent */
    uint8_t max_fragment_length; /* 0: not sent */
    const uint16_t *groups;      /* NULL: not sent */
    size_t group_count;
} iotls_encrypted_extensions_params;

int iotls__encrypted_extensions_write(iotls_writer *w, const iotls_encrypted_extensions_params *p);

/* ---------------- CertificateRequest ---------------- */

typedef struct {
    iotls_bytes context;
    uint32_t exts_seen;
    iotls_bytes signature_algorithms;      /* raw u16 list; mandatory */
    iotls_bytes signature_algorithms_cert; /* raw u16 list; may be empty */
} iotls_certificate_request;

/* signature_algorithms missing → MISSING_EXTENSION. */
int iotls__certificate_request_parse(const uint8_t *body, size_t len,
                                     iotls_certificate_request *out);
int iotls__certificate_request_write(iotls_writer *w, const uint8_t *context, size_t context_len,
                                     const uint16_t *sig_algs, size_t sig_alg_count);

/* ---------------- Certificate ---------------- */

typedef struct {
    iotls_bytes context;
    iotls_bytes certificate_list; /* raw CertificateEntry list, validated */
    size_t count;
} iotls_certificate;

/* Any extension inside a CertificateEntry → UNSUPPORTED_EXTENSION (iotls
 * never requests status_request or SCTs); empty cert_data → DECODE. */
int iotls__certificate_parse(const uint8_t *body, size_t len, iotls_certificate *out);
/* Iterates the entries: 1 and the DER of the next certificate, 0 at end. */
int iotls__certificate_next(iotls_bytes list, size_t *pos, iotls_bytes *der);

/* Writes a Certificate with the given DER certificates (leaf first); count
 * 0 writes the empty Certificate a client sends when it has none. */
int iotls__certificate_write(iotls_writer *w, const uint8_t *context, size_t context_len,
                             const uint8_t *const *ders, const size_t *der_lens, size_t count);

/* ---------------- CertificateVerify ---------------- */

typedef struct {
    uint16_t scheme;
    iotls_bytes signature;
} iotls_certificate_verify;

int iotls__certificate_verify_parse(const uint8_t *body, size_t len, iotls_certificate_verify *out);
int iotls__certificate_verify_write(iotls_writer *w, uint16_t scheme, const uint8_t *sig,
                                    size_t sig_len);
/* The content that is signed (RFC 8446 4.4.3): 64 spaces, the context
 * string ("TLS 1.3, server CertificateVerify" or "... client ..."), 0x00,
 * then the transcript hash. out needs 64 + 34 + 48 bytes at most. */
int iotls__certificate_verify_content(int by_server, const uint8_t *transcript_hash,
                                      size_t hash_len, uint8_t *out, size_t cap, size_t *out_len);

/* ---------------- Finished ---------------- */

/* Body must be exactly hash_len bytes → else DECODE. */
int iotls__finished_parse(const uint8_t *body, size_t len, size_t hash_len,
                          iotls_bytes *verify_data);
int iotls__finished_write(iotls_writer *w, const uint8_t *verify_data, size_t len);

/* ---------------- NewSessionTicket ---------------- */

typedef struct {
    uint32_t lifetime;
    uint32_t age_add;
    iotls_bytes nonce;
    iotls_bytes ticket;
    uint32_t max_early_data; /* 0 when the early_data extension is absent */
    uint32_t exts_seen;
} iotls_new_session_ticket;

/* lifetime over 7 days → ILLEGAL_PARAMETER; empty ticket → DECODE. */
int iotls__new_session_ticket_parse(const uint8_t *body, size_t len, iotls_new_session_ticket *out);
int iotls__new_session_ticket_write(iotls_writer *w, uint32_t lifetime, uint32_t age_add,
                                    const uint8_t *nonce, size_t nonce_len, const uint8_t *ticket,
                                    size_t ticket_len, uint32_t max_early_data);

/* ---------------- KeyUpdate / EndOfEarlyData ---------------- */

/* request_update must be 0 or 1 → else ILLEGAL_PARAMETER. */
int iotls__key_update_parse(const uint8_t *body, size_t len, int *update_requested);
int iotls__key_update_write(iotls_writer *w, int update_requested);
int iotls__end_of_early_data_parse(const uint8_t *body, size_t len); /* must be empty */
int iotls__end_of_early_data_write(iotls_writer *w);

#endif
