/* Limits that keep the engine's stack small (docs/stack.md).
 *
 * iotls__hkdf_expand_label builds HkdfLabel in a stack buffer sized for
 * labels of up to 32 characters (RFC 8446's are at most 12) and any context
 * up to 255 bytes (a ticket nonce can be that long). At that limit its
 * output must equal HKDF-Expand over the HkdfLabel that iotls__hkdf_label
 * writes into a buffer of the full RFC size; one character more is
 * BAD_ARG, not a truncated or overflowing label. */
#include <string.h>

#include "crypto/crypto.h"
#include "iotls/error.h"
#include "keysched.h"
#include "testlib.h"

static void check_label(const char *label, size_t context_len)
{
    uint8_t secret[32], context[255], out[48], want[48];
    uint8_t info[2 + 1 + 255 + 1 + 255];
    size_t info_len = 0;
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(i + 1);
    for (size_t i = 0; i < sizeof context; i++)
        context[i] = (uint8_t)(0xA0 ^ i);
    CHECK_OK(
        iotls__hkdf_label(label, context, context_len, sizeof out, info, sizeof info, &info_len));
    CHECK(info_len == 2 + 1 + 6 + strlen(label) + 1 + context_len);
    CHECK_OK(iotls__hkdf_expand(IOTLS_HASH_SHA256, secret, sizeof secret, info, info_len, want,
                                sizeof want));
    memset(out, 0, sizeof out);
    CHECK_OK(iotls__hkdf_expand_label(IOTLS_HASH_SHA256, secret, label, context, context_len, out,
                                      sizeof out));
    CHECK(memcmp(out, want, sizeof out) == 0);
}

int main(void)
{
    /* 32 characters: the longest label the engine's buffer takes. */
    const char *longest = "abcdefghijklmnopqrstuvwxyz012345";
    CHECK(strlen(longest) == 32);
    check_label(longest, 255);
    check_label(longest, 0);
    check_label("c hs traffic", 48);
    check_label("resumption", 255);

    uint8_t secret[32] = {1}, out[32];
    CHECK_RC(iotls__hkdf_expand_label(IOTLS_HASH_SHA256, secret,
                                      "abcdefghijklmnopqrstuvwxyz0123456", NULL, 0, out,
                                      sizeof out),
             IOTLS_ERR_BAD_ARG);
    return tl_finish("stack_limits");
}
