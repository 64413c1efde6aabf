/* psk_sensor: a device without certificates sends one reading over TLS 1.3
 * authenticated by an external pre-shared key (RFC 8446 2.2), as the TLS
 * 1.3 IoT profiles describe for constrained devices.
 *
 *   psk_sensor HOST PORT IDENTITY KEY_HEX READING [psk_ke]
 *
 * Default mode psk_dhe_ke: the PSK authenticates both sides and an
 * (EC)DHE key exchange gives forward secrecy. "psk_ke" offers the PSK
 * alone, with no key share: for devices without ECC, at the price of
 * forward secrecy (anyone who later learns the key can decrypt recorded
 * traffic), so the server must explicitly allow it.
 * The key (16..64 bytes, hex here) is provisioned per device: on a real
 * device it comes from secure storage, not from the command line.
 *
 * Build: cc psk_sensor.c $(pkg-config --cflags --libs iotls) -o psk_sensor */
#include <iotls/iotls.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int nibble(char ch)
{
    const char *digits = "0123456789abcdef", *at = strchr(digits, tolower((unsigned char)ch));
    return ch != '\0' && at != NULL ? (int)(at - digits) : -1;
}

/* Hex to bytes: the key's length, or 0 unless it is 16..cap bytes of hex. */
static size_t parse_key(const char *hex, uint8_t *key, size_t cap)
{
    size_t len = strlen(hex) / 2;
    if (strlen(hex) % 2 != 0 || len < 16 || len > cap)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return len;
}

int main(int argc, char **argv)
{
    int psk_ke = argc == 7 && strcmp(argv[6], "psk_ke") == 0;
    if (argc != 6 && !psk_ke) {
        fprintf(stderr, "usage: psk_sensor HOST PORT IDENTITY KEY_HEX READING [psk_ke]\n");
        return 2;
    }
    uint8_t key[64];
    size_t key_len = parse_key(argv[4], key, sizeof key);
    if (key_len == 0) {
        fprintf(stderr, "psk_sensor: KEY_HEX must be 16 to 64 bytes in hex\n");
        return 2;
    }
    int status = 1;
    iotls *t = NULL;
    iotls_config *cfg = iotls_config_new();
    /* No CA and no certificate: the PSK authenticates the server. The PSK
     * is bound to one hash: SHA-256, so the suites are the SHA-256 ones. */
    if (cfg == NULL ||
        iotls_config_set_psk(cfg, (const uint8_t *)argv[3], strlen(argv[3]), key, key_len,
                             IOTLS_TLS_AES_128_GCM_SHA256) != IOTLS_OK ||
        iotls_config_set_ciphers(cfg, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256") !=
            IOTLS_OK) {
        fprintf(stderr, "psk_sensor: bad PSK configuration (identity 1..128 bytes)\n");
        goto out;
    }
    if (psk_ke)
        iotls_config_set_psk_ke(cfg, IOTLS_PSK_KE_ONLY);
    iotls_config_set_timeout_ms(cfg, 10000);

    t = iotls_client_new(cfg);
    if (t == NULL)
        goto out;
    if (iotls_connect(t, argv[1], argv[2], NULL) != IOTLS_OK) {
        fprintf(stderr, "psk_sensor: %s\n", iotls_error(t));
        goto out;
    }
    iotls_info info;
    iotls_get_info(t, &info);
    if (!info.external_psk) { /* cannot happen without a CA; checked all the same */
        fprintf(stderr, "psk_sensor: server not authenticated by the PSK\n");
        goto out;
    }
    fprintf(stderr, "psk_sensor: TLS 1.3 %s, external PSK \"%s\", %s\n", info.cipher_suite_name,
            argv[3], info.group ? "psk_dhe_ke" : "psk_ke (no key exchange)");
    if (info.group)
        fprintf(stderr, "psk_sensor: key exchange %s\n", info.group_name);

    char line[256];
    int n = snprintf(line, sizeof line, "%s\n", argv[5]);
    if (n < 0 || (size_t)n >= sizeof line) {
        fprintf(stderr, "psk_sensor: reading too long\n");
        goto out;
    }
    if (iotls_write(t, line, (size_t)n) != n) {
        fprintf(stderr, "psk_sensor: %s\n", iotls_error(t));
        goto out;
    }
    fprintf(stderr, "psk_sensor: sent %s", line);
    status = iotls_close(t) == IOTLS_OK ? 0 : 1;
out:
    memset(key, 0, sizeof key);
    iotls_free(t);
    iotls_config_free(cfg);
    return status;
}
