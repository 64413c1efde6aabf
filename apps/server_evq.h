/* A worker's event set: epoll on Linux, poll(2) elsewhere (or with
 * -DIOTLS_SERVER_POLL, which the test build uses to exercise it). Level
 * triggered. The pointer given with a descriptor comes back with its
 * events; NULL is allowed (the server uses it for the listening socket). */
#ifndef IOTLS_APP_SERVER_EVQ_H
#define IOTLS_APP_SERVER_EVQ_H

#include <stddef.h>

#if defined(__linux__) && !defined(IOTLS_SERVER_POLL)
#define EVQ_EPOLL 1
#else
#include <poll.h>
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
#ifdef EVQ_EPOLL
    int epfd;
#else
    struct pollfd *fds;
    void **ptrs;
    size_t n, cap;
#endif
} evq;

int evq_init(evq *q);
void evq_close(evq *q);
int evq_add(evq *q, int fd, void *ptr, unsigned events);
int evq_mod(evq *q, int fd, void *ptr, unsigned events);
int evq_del(evq *q, int fd);
/* Up to max ready descriptors; 0 on timeout or a signal. */
int evq_wait(evq *q, evq_event *out, int max, int timeout_ms);

#endif
