/* NSS key log writer. */
#include "keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *keylog_file;
static char keylog_name[512];
static pthread_mutex_t keylog_lock = PTHREAD_MUTEX_INITIALIZER;

static void write_line(void *arg, const char *line)
{
    (void)arg;
    pthread_mutex_lock(&keylog_lock);
    if (keylog_file) {
        fprintf(keylog_file, "%s\n", line);
        fflush(keylog_file);
    }
    pthread_mutex_unlock(&keylog_lock);
}

int keylog_setup(iotls_config *cfg, const char *path)
{
    if (path == NULL || path[0] == '\0') {
        path = getenv("SSLKEYLOGFILE");
        if (path == NULL || path[0] == '\0')
            return 0;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) {
        fprintf(stderr, "iotls: cannot open key log file %s: %s\n", path, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "a");
    if (f == NULL) {
        close(fd);
        fprintf(stderr, "iotls: cannot open key log file %s\n", path);
        return -1;
    }
    pthread_mutex_lock(&keylog_lock);
    if (keylog_file)
        fclose(keylog_file);
    keylog_file = f;
    snprintf(keylog_name, sizeof keylog_name, "%s", path);
    pthread_mutex_unlock(&keylog_lock);
    iotls_config_set_keylog(cfg, write_line, NULL);
    return 0;
}

const char *keylog_path(void)
{
    return keylog_file ? keylog_name : NULL;
}

void keylog_close(void)
{
    pthread_mutex_lock(&keylog_lock);
    if (keylog_file)
        fclose(keylog_file);
    keylog_file = NULL;
    pthread_mutex_unlock(&keylog_lock);
}
