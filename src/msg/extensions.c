/* Extension bookkeeping shared by every message: the RFC 8446 section 4.2
 * table, the extension block walker (framing, duplicates, legality), the
 * handshake header and small codecs used by several messages. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ext_internal.h"
#include "iotls/error.h"

/* Message bits for the table. */
enum {
    IN_CH = 1u << 0,
    IN_SH = 1u << 1,
    IN_HRR = 1u << 2,
    IN_EE = 1u << 3,
    IN_CT = 1u << 4,
    IN_CR = 1u << 5,
    IN_NST = 1u << 6,
};

/* An extension's rule and its id (iotls__ext_id_of) in one row: the id
 * fills what would be padding. */
typedef struct {
    uint16_t type;
    uint8_t where;
    uint8_t id; /* enum iotls_ext_id */
} ext_rule;

/* RFC 8446 section 4.2, plus record_size_limit from RFC 8449 section 4. */
static const ext_rule ext_table[] = {
    {IOTLS_EXT_SERVER_NAME, IN_CH | IN_EE, IOTLS_EXTID_SERVER_NAME},
    {IOTLS_EXT_MAX_FRAGMENT_LENGTH, IN_CH | IN_EE, IOTLS_EXTID_MAX_FRAGMENT_LENGTH},
    {IOTLS_EXT_STATUS_REQUEST, IN_CH | IN_CR | IN_CT, IOTLS_EXTID_STATUS_REQUEST},
    {IOTLS_EXT_SUPPORTED_GROUPS, IN_CH | IN_EE, IOTLS_EXTID_SUPPORTED_GROUPS},
    {IOTLS_EXT_SIGNATURE_ALGORITHMS, IN_CH | IN_CR, IOTLS_EXTID_SIGNATURE_ALGORITHMS},
    {IOTLS_EXT_USE_SRTP, IN_CH | IN_EE, IOTLS_EXTID_OTHER},
    {IOTLS_EXT_HEARTBEAT, IN_CH | IN_EE, IOTLS_EXTID_OTHER},
    {IOTLS_EXT_ALPN, IN_CH | IN_EE, IOTLS_EXTID_ALPN},
    {IOTLS_EXT_SCT, IN_CH | IN_CR | IN_CT, IOTLS_EXTID_OTHER},
    {IOTLS_EXT_CLIENT_CERT_TYPE, IN_CH | IN_EE, IOTLS_EXTID_OTHER},
    {IOTLS_EXT_SERVER_CERT_TYPE, IN_CH | IN_EE, IOTLS_EXTID_OTHER},
    {IOTLS_EXT_PADDING, IN_CH, IOTLS_EXTID_PADDING},
    {IOTLS_EXT_RECORD_SIZE_LIMIT, IN_CH | IN_EE, IOTLS_EXTID_RECORD_SIZE_LIMIT},
    {IOTLS_EXT_KEY_SHARE, IN_CH | IN_SH | IN_HRR, IOTLS_EXTID_KEY_SHARE},
    {IOTLS_EXT_PRE_SHARED_KEY, IN_CH | IN_SH, IOTLS_EXTID_PRE_SHARED_KEY},
    {IOTLS_EXT_PSK_KEY_EXCHANGE_MODES, IN_CH, IOTLS_EXTID_PSK_KEY_EXCHANGE_MODES},
    {IOTLS_EXT_EARLY_DATA, IN_CH | IN_EE | IN_NST, IOTLS_EXTID_EARLY_DATA},
    {IOTLS_EXT_COOKIE, IN_CH | IN_HRR, IOTLS_EXTID_COOKIE},
    {IOTLS_EXT_SUPPORTED_VERSIONS, IN_CH | IN_SH | IN_HRR, IOTLS_EXTID_SUPPORTED_VERSIONS},
    {IOTLS_EXT_CERTIFICATE_AUTHORITIES, IN_CH | IN_CR, IOTLS_EXTID_CERTIFICATE_AUTHORITIES},
    {IOTLS_EXT_OID_FILTERS, IN_CR, IOTLS_EXTID_OTHER},
    {IOTLS_EXT_POST_HANDSHAKE_AUTH, IN_CH, IOTLS_EXTID_POST_HANDSHAKE_AUTH},
    {IOTLS_EXT_SIGNATURE_ALGORITHMS_CERT, IN_CH | IN_CR, IOTLS_EXTID_SIGNATURE_ALGORITHMS_CERT},
};

static const ext_rule *find_rule(uint16_t ext_type)
{
    for (size_t i = 0; i < sizeof(ext_table) / sizeof(ext_table[0]); i++) {
        if (ext_table[i].type == ext_type)
            return &ext_table[i];
    }
    return NULL;
}

static unsigned message_bit(uint8_t hs_type, int is_hrr)
{
    switch (hs_type) {
    case IOTLS_HS_CLIENT_HELLO:
        return IN_CH;
    case IOTLS_HS_SERVER_HELLO:
        return is_hrr ? IN_HRR : IN_SH;
    case IOTLS_HS_ENCRYPTED_EXTENSIONS:
        return IN_EE;
    case IOTLS_HS_CERTIFICATE:
        return IN_CT;
    case IOTLS_HS_CERTIFICATE_REQUEST:
        return IN_CR;
    case IOTLS_HS_NEW_SESSION_TICKET:
        return IN_NST;
    default:
        return 0;
    }
}

int iotls__ext_in_table(uint16_t ext_type)
{
    return find_rule(ext_type) != NULL;
}

int iotls__ext_allowed(uint16_t ext_type, uint8_t hs_type, int is_hrr)
{
    unsigned bit = message_bit(hs_type, is_hrr);
    const ext_rule *rule = find_rule(ext_type);
    if (rule)
        return (rule->where & bit) != 0;
    /* Unknown extensions are ignored where a peer may send what we do not
     * know (requests); in responses they can only answer something never
     * offered. */
    return (bit & (IN_CH | IN_CR | IN_NST)) != 0;
}

enum iotls_ext_id iotls__ext_id_of(uint16_t ext_type)
{
    const ext_rule *rule = find_rule(ext_type);
    return rule ? (enum iotls_ext_id)rule->id : IOTLS_EXTID_OTHER;
}

/* ---------------- handshake header ---------------- */

size_t iotls__msg_begin(iotls_writer *w, uint8_t hs_type)
{
    size_t mark = w->len;
    iotls__wr_u8(w, hs_type);
    (void)iotls__wr_vec_begin(w, 3);
    return mark;
}

void iotls__msg_end(iotls_writer *w, size_t mark)
{
    iotls__wr_vec_end(w, mark + 1, 3);
}

/* ---------------- u16 lists ---------------- */

size_t iotls__u16_list_count(iotls_bytes list)
{
    return list.p ? list.len / 2 : 0;
}

uint16_t iotls__u16_list_get(iotls_bytes list, size_t i)
{
    if (i >= iotls__u16_list_count(list))
        return 0;
    return (uint16_t)((unsigned)list.p[2 * i] << 8 | list.p[2 * i + 1]);
}

int iotls__u16_list_contains(iotls_bytes list, uint16_t value)
{
    size_t n = iotls__u16_list_count(list);
    for (size_t i = 0; i < n; i++) {
        if (iotls__u16_list_get(list, i) == value)
            return 1;
    }
    return 0;
}

/* ---------------- the walker ---------------- */

void iotls__ext_walk_start(iotls_ext_walker *wk, iotls_bytes block, uint8_t hs_type, int is_hrr)
{
    memset(wk, 0, sizeof(*wk));
    iotls__rd_init(&wk->block, block.p, block.len);
    wk->hs_type = hs_type;
    wk->is_hrr = is_hrr;
    wk->check_legal = 1;
}

/* One bit per table row in iotls_ext_walker.table_seen. */
_Static_assert(sizeof(ext_table) / sizeof(ext_table[0]) <= 32, "table_seen holds one bit per row");

/* 1 when ext_type, a type of the table, already appeared in the block; 0
 * when not, and always for an unknown type (see iotls_ext_walker). */
static int seen_before(iotls_ext_walker *wk, uint16_t ext_type)
{
    const ext_rule *rule = find_rule(ext_type);
    if (!rule)
        return 0;
    uint32_t bit = 1u << (unsigned)(rule - ext_table);
    if (wk->table_seen & bit)
        return 1;
    wk->table_seen |= bit;
    return 0;
}

int iotls__ext_walk_next(iotls_ext_walker *wk, uint16_t *type, iotls_reader *data)
{
    if (iotls__rd_remaining(&wk->block) == 0)
        return 0;
    uint16_t ext_type;
    int rc = iotls__rd_u16(&wk->block, &ext_type);
    if (rc == IOTLS_OK)
        rc = iotls__rd_sub16(&wk->block, 0, 0xFFFF, data);
    if (rc != IOTLS_OK)
        return rc;
    if (seen_before(wk, ext_type))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (wk->check_legal && !iotls__ext_allowed(ext_type, wk->hs_type, wk->is_hrr))
        return iotls__ext_in_table(ext_type) ? IOTLS_ERR_ILLEGAL_PARAMETER
                                             : IOTLS_ERR_UNSUPPORTED_EXTENSION;
    wk->seen |= IOTLS_EXT_BIT(iotls__ext_id_of(ext_type));
    wk->last_type = ext_type;
    *type = ext_type;
    return 1;
}

/* ---------------- extension_data codecs ---------------- */

int iotls__ext_parse_empty(iotls_reader *data)
{
    return iotls__rd_done(data);
}

int iotls__ext_parse_u16_list(iotls_reader *data, size_t min_len, size_t max_len, iotls_bytes *list)
{
    int rc = iotls__rd_vec16(data, min_len, max_len, list);
    if (rc != IOTLS_OK)
        return rc;
    if (list->len % 2 != 0)
        return IOTLS_ERR_DECODE;
    return iotls__rd_done(data);
}

int iotls__ext_parse_record_size_limit(iotls_reader *data, uint16_t *limit)
{
    uint16_t v;
    int rc = iotls__rd_u16(data, &v);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    if (rc != IOTLS_OK)
        return rc;
    if (v < 64)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    *limit = v;
    return IOTLS_OK;
}

int iotls__ext_parse_max_fragment_length(iotls_reader *data, uint8_t *code)
{
    uint8_t v;
    int rc = iotls__rd_u8(data, &v);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    if (rc != IOTLS_OK)
        return rc;
    if (v < 1 || v > 4)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    *code = v;
    return IOTLS_OK;
}

int iotls__ext_read_key_share_entry(iotls_reader *r, iotls_key_share_entry *entry)
{
    int rc = iotls__rd_u16(r, &entry->group);
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec16(r, 1, 0xFFFF, &entry->key_exchange);
    return rc;
}

int iotls__ext_check_alpn_list(iotls_bytes list, size_t *count)
{
    iotls_reader r;
    iotls__rd_init(&r, list.p, list.len);
    size_t n = 0;
    while (iotls__rd_remaining(&r) > 0) {
        iotls_bytes name;
        int rc = iotls__rd_vec8(&r, 1, 255, &name);
        if (rc != IOTLS_OK)
            return rc;
        n++;
    }
    *count = n;
    return IOTLS_OK;
}

size_t iotls__ext_begin(iotls_writer *w, uint16_t ext_type)
{
    iotls__wr_u16(w, ext_type);
    return iotls__wr_vec_begin(w, 2);
}

void iotls__ext_end(iotls_writer *w, size_t mark)
{
    iotls__wr_vec_end(w, mark, 2);
}

void iotls__ext_write_u16_vec(iotls_writer *w, const uint16_t *values, size_t count)
{
    size_t mark = iotls__wr_vec_begin(w, 2);
    for (size_t i = 0; i < count; i++)
        iotls__wr_u16(w, values[i]);
    iotls__wr_vec_end(w, mark, 2);
}
