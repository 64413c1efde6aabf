/* NSS key log file (SSLKEYLOGFILE format) for Wireshark: every secret of
 * every connection the program makes. The secrets let anyone holding the
 * file decrypt the traffic, so the file is created mode 0600. */
#ifndef IOTLS_APP_KEYLOG_H
#define IOTLS_APP_KEYLOG_H

#include "iotls/iotls.h"

/* path NULL: use $SSLKEYLOGFILE if set, else do nothing. Returns 0, or -1
 * after printing why the file cannot be opened. Thread-safe writes. */
int keylog_setup(iotls_config *cfg, const char *path);
/* Name of the file being written, NULL when none. */
const char *keylog_path(void);
void keylog_close(void);

#endif
