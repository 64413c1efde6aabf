/* Helpers shared by the message files in src/msg/ (not part of msg.h's
 * contract with the state machines). */
#ifndef IOTLS_EXT_INTERNAL_H
#define IOTLS_EXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "msg/msg.h"

/* Walks one extension block. Each step checks the extension's framing, that
 * a type of RFC 8446's table did not appear before in the block (else
 * ILLEGAL_PARAMETER) and, unless check_legal is 0, that the table allows it
 * in this message: a known type that is not allowed → ILLEGAL_PARAMETER, an
 * unknown type where unknown ones are not allowed (SH, HRR, EE, Certificate
 * entries; nobody offered it) → UNSUPPORTED_EXTENSION.
 *
 * Unknown types are ignored (RFC 8446 4.2) whatever their number, a
 * repeated one too: remembering every unknown type to find repeats would
 * take either 8 KiB (a bit per type) or time quadratic in the block (a
 * 16 KiB ClientHello holds 4,000 empty extensions), and a repeat of what
 * we ignore changes nothing. A known type is found repeated exactly, with
 * one bit per table row; the work per extension is constant. */
typedef struct {
    iotls_reader block;
    uint8_t hs_type;
    int is_hrr;
    int check_legal;
    uint32_t seen;       /* IOTLS_EXT_BIT(id) of every extension so far */
    uint32_t table_seen; /* bit i: row i of the RFC 8446 4.2 table seen */
    uint16_t last_type;
} iotls_ext_walker;

void iotls__ext_walk_start(iotls_ext_walker *wk, iotls_bytes block, uint8_t hs_type, int is_hrr);
/* 1 with the next extension's type and a reader over its extension_data,
 * 0 at the end of the block, or a negative error. */
int iotls__ext_walk_next(iotls_ext_walker *wk, uint16_t *type, iotls_reader *data);

/* 1 when ext_type appears in RFC 8446's 4.2 table (or RFC 8449's
 * record_size_limit): an extension TLS 1.3 knows where it belongs. */
int iotls__ext_in_table(uint16_t ext_type);

/* extension_data parsers: each consumes the whole extension_data and returns
 * DECODE when anything is left over. */
int iotls__ext_parse_empty(iotls_reader *data);
/* A u16 list in a 2-byte vector of [min_len, max_len] bytes, even length. */
int iotls__ext_parse_u16_list(iotls_reader *data, size_t min_len, size_t max_len,
                              iotls_bytes *list);
/* RFC 8449: a value under 64 → ILLEGAL_PARAMETER. */
int iotls__ext_parse_record_size_limit(iotls_reader *data, uint16_t *limit);
/* RFC 6066: a code outside 1..4 → ILLEGAL_PARAMETER. */
int iotls__ext_parse_max_fragment_length(iotls_reader *data, uint8_t *code);
/* One KeyShareEntry from r (not necessarily the whole of r). */
int iotls__ext_read_key_share_entry(iotls_reader *r, iotls_key_share_entry *entry);
/* Checks a ProtocolNameList body: names of 1..255 bytes, nothing left over;
 * *count gets the number of names. */
int iotls__ext_check_alpn_list(iotls_bytes list, size_t *count);

/* Writing: begin writes the type and opens the 2-byte extension_data
 * vector; end closes it. */
size_t iotls__ext_begin(iotls_writer *w, uint16_t ext_type);
void iotls__ext_end(iotls_writer *w, size_t mark);
/* A 2-byte vector holding a u16 list. */
void iotls__ext_write_u16_vec(iotls_writer *w, const uint16_t *values, size_t count);

#endif
