/* epoll where there is epoll, poll(2) where not (or when asked). */
#include "server_evq.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static short to_poll(unsigned events)
{
    short e = 0;
    if (events & EVQ_IN)
        e |= POLLIN;
    if (events & EVQ_OUT)
        e |= POLLOUT;
    return e;
}

static int pl_init(evq *q)
{
    q->fds = NULL;
    q->ptrs = NULL;
    q->n = q->cap = 0;
    return 0;
}

static void pl_close(evq *q)
{
    free(q->fds);
    free(q->ptrs);
    q->fds = NULL;
    q->ptrs = NULL;
    q->n = q->cap = 0;
}

static size_t find(const evq *q, int fd)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->fds[i].fd == fd)
            return i;
    return q->n;
}

static int pl_add(evq *q, int fd, void *ptr, unsigned events)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        struct pollfd *fds = realloc(q->fds, cap * sizeof *fds);
        if (fds == NULL)
            return -1;
        q->fds = fds;
        void **ptrs = realloc(q->ptrs, cap * sizeof *ptrs);
        if (ptrs == NULL)
            return -1;
        q->ptrs = ptrs;
        q->cap = cap;
    }
    q->fds[q->n].fd = fd;
    q->fds[q->n].events = to_poll(events);
    q->fds[q->n].revents = 0;
    q->ptrs[q->n] = ptr;
    q->n++;
    return 0;
}

static int pl_mod(evq *q, int fd, void *ptr, unsigned events)
{
    size_t i = find(q, fd);
    if (i == q->n)
        return -1;
    q->fds[i].events = to_poll(events);
    q->ptrs[i] = ptr;
    return 0;
}

static int pl_del(evq *q, int fd)
{
    size_t i = find(q, fd);
    if (i == q->n)
        return -1;
    q->n--;
    q->fds[i] = q->fds[q->n];
    q->ptrs[i] = q->ptrs[q->n];
    return 0;
}

static int pl_wait(evq *q, evq_event *out, int max, int timeout_ms)
{
    int r = poll(q->fds, (nfds_t)q->n, timeout_ms);
    if (r <= 0)
        return 0;
    int n = 0;
    for (size_t i = 0; i < q->n && n < max; i++) {
        short re = q->fds[i].revents;
        if (re == 0)
            continue;
        out[n].ptr = q->ptrs[i];
        out[n].events = 0;
        if (re & (POLLIN | POLLHUP | POLLERR))
            out[n].events |= EVQ_IN;
        if (re & (POLLOUT | POLLHUP | POLLERR))
            out[n].events |= EVQ_OUT;
        n++;
    }
    return n;
}

#ifdef EVQ_EPOLL
#include <sys/epoll.h>

static uint32_t to_epoll(unsigned events)
{
    uint32_t e = 0;
    if (events & EVQ_IN)
        e |= EPOLLIN;
    if (events & EVQ_OUT)
        e |= EPOLLOUT;
#ifdef EPOLLEXCLUSIVE
    if (events & EVQ_EXCLUSIVE)
        e |= EPOLLEXCLUSIVE;
#endif
    return e;
}

static int ep_init(evq *q)
{
    q->epfd = epoll_create1(EPOLL_CLOEXEC);
    return q->epfd < 0 ? -1 : 0;
}

static void ep_close(evq *q)
{
    if (q->epfd >= 0)
        close(q->epfd);
    q->epfd = -1;
}

static int ctl(evq *q, int op, int fd, void *ptr, unsigned events)
{
    struct epoll_event ev;
    ev.events = to_epoll(events);
    ev.data.ptr = ptr;
    return epoll_ctl(q->epfd, op, fd, &ev);
}

static int ep_add(evq *q, int fd, void *ptr, unsigned events)
{
    return ctl(q, EPOLL_CTL_ADD, fd, ptr, events);
}

static int ep_mod(evq *q, int fd, void *ptr, unsigned events)
{
    return ctl(q, EPOLL_CTL_MOD, fd, ptr, events);
}

static int ep_del(evq *q, int fd)
{
    return ctl(q, EPOLL_CTL_DEL, fd, NULL, 0);
}

static int ep_wait(evq *q, evq_event *out, int max, int timeout_ms)
{
    struct epoll_event ev[256];
    if (max > 256)
        max = 256;
    int n = epoll_wait(q->epfd, ev, max, timeout_ms);
    if (n < 0)
        return 0; /* EINTR */
    for (int i = 0; i < n; i++) {
        out[i].ptr = ev[i].data.ptr;
        out[i].events = 0;
        if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            out[i].events |= EVQ_IN;
        if (ev[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            out[i].events |= EVQ_OUT;
    }
    return n;
}

#endif

int evq_init(evq *q, int use_poll)
{
    q->epfd = -1;
#ifdef EVQ_EPOLL
    if (!use_poll)
        return ep_init(q);
#else
    (void)use_poll;
#endif
    return pl_init(q);
}

#ifdef EVQ_EPOLL
#define DISPATCH(ep_call, pl_call) return q->epfd >= 0 ? ep_call : pl_call
#else
#define DISPATCH(ep_call, pl_call) return pl_call
#endif

void evq_close(evq *q)
{
#ifdef EVQ_EPOLL
    if (q->epfd >= 0) {
        ep_close(q);
        return;
    }
#endif
    pl_close(q);
}

int evq_add(evq *q, int fd, void *ptr, unsigned events)
{
    DISPATCH(ep_add(q, fd, ptr, events), pl_add(q, fd, ptr, events));
}

int evq_mod(evq *q, int fd, void *ptr, unsigned events)
{
    DISPATCH(ep_mod(q, fd, ptr, events), pl_mod(q, fd, ptr, events));
}

int evq_del(evq *q, int fd)
{
    DISPATCH(ep_del(q, fd), pl_del(q, fd));
}

int evq_wait(evq *q, evq_event *out, int max, int timeout_ms)
{
    DISPATCH(ep_wait(q, out, max, timeout_ms), pl_wait(q, out, max, timeout_ms));
}
