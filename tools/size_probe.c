/* The link root of the size probe (tools/size-report.sh): every public
 * engine function, so the linker keeps what an application can reach. */
#include "conn.h"
#include "config.h"
#include "iotls/engine.h"

/* Not part of the engine's footprint: these only tell the report the RAM
 * structs' sizes on the target (read back with nm -S). */
char size_probe_sizeof_conn[sizeof(struct iotls_conn)];
char size_probe_sizeof_config[sizeof(struct iotls_config)];

int size_probe_entry(void *mem, size_t len, struct iotls_config *cfg, const uint8_t *in,
                     size_t in_len, uint8_t *buf, size_t cap);

int size_probe_entry(void *mem, size_t len, struct iotls_config *cfg, const uint8_t *in,
                     size_t in_len, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    const uint8_t *der = NULL;
    iotls_info info;
    iotls__config_defaults(cfg);
    if (iotls_conn_size(cfg) > len)
        return -1;
    iotls_conn *c = iotls_conn_init(mem, len, cfg, SIZE_PROBE_ROLE, "device.example");
    int rc = iotls_conn_borrow_session(c, in, in_len);
    rc |= iotls_conn_write_early(c, buf, cap);
    rc |= iotls_conn_early_data_status(c);
    rc |= iotls_conn_start(c);
    rc |= iotls_conn_input(c, in, in_len, &n);
    if (iotls_conn_output(c, &n) != NULL)
        iotls_conn_output_consume(c, n);
    rc |= iotls_conn_handshake_done(c);
    rc |= iotls_conn_read(c, buf, cap, &n);
    rc |= iotls_conn_write(c, buf, cap, &n);
    rc |= iotls_conn_key_update(c, 1);
    rc |= iotls_conn_info(c, &info);
    rc |= iotls_conn_peer_cert_der(c, iotls_conn_peer_cert_count(c), &der, &n);
    rc |= iotls_conn_error(c);
    iotls_conn_set_user(c, iotls_conn_user(c));
    rc |= iotls_conn_close(c);
    iotls_conn_free(c);
    return rc;
}
