/* A worker's event set: epoll on Linux, poll(2) elsewhere or when asked
 * (`iotls server --poll`, which the tests use to exercise it). Level
 * triggered. The pointer given with a descriptor comes back with its
 * events; NULL is allowed (the server uses it for the listening socket). */
#ifndef IOTLS_APP_SERVER_EVQ_H
#define IOTLS_APP_SERVER_EVQ_H

#include <stddef.h>

#include <poll.h>

#if defined(__linux__)
#define EVQ_EPOLL 1
#endif

#define EVQ_IN 1u
#define EVQ_OUT 2u
/* Only with evq_add of a descriptor shared by several event sets (the
 * listening socket): one of them is woken per event, not all. */
#define EVQ_EXCLUSIVE 4u

typedef struct {
    void *ptr;
    unsigned events;
} evq_event;

typedef struct {
    int epfd; /* -1: poll */
    struct pollfd *fds;
    void **ptrs;
    size_t n, cap;
} evq;

/* use_poll: poll(2) even where epoll exists. */
int evq_init(evq *q, int use_poll);
void evq_close(evq *q);
int evq_add(evq *q, int fd, void *ptr, unsigned events);
int evq_mod(evq *q, int fd, void *ptr, unsigned events);
int evq_del(evq *q, int fd);
/* Up to max ready descriptors; 0 on timeout or a signal. */
int evq_wait(evq *q, evq_event *out, int max, int timeout_ms);

#endif
