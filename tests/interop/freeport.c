/* freeport: print a TCP port that is free on 127.0.0.1 right now.
 *
 * The kernel picks it (bind to port 0); the socket is closed again before the
 * port is printed, so another process may take it before the test's server
 * binds it. The harness (lib.sh) therefore retries with a new port when a
 * server fails to start listening.
 *
 * freeport --full: instead, listen on a port whose accept queue is full
 * and never accept, print the port and wait to be killed. Linux drops the
 * SYNs of further connections (the client retransmits them), so a TCP
 * connect to that port neither succeeds nor fails: it hangs until the
 * client's connect timeout, which is what --connect-timeout is tested with. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Queues connections to port until one does not complete within 200 ms
 * (the queue is full); they stay open until the process ends. */
static int fill_accept_queue(unsigned port)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((unsigned short)port);
    for (int i = 0; i < 64; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || fcntl(c, F_SETFL, O_NONBLOCK) != 0)
            return -1;
        if (connect(c, (struct sockaddr *)&addr, sizeof addr) == 0)
            continue;
        if (errno != EINPROGRESS)
            return -1;
        struct pollfd p = {.fd = c, .events = POLLOUT, .revents = 0};
        if (poll(&p, 1, 200) == 0)
            return 0; /* this one hangs: the queue is full */
    }
    return -1;
}

int main(int argc, char **argv)
{
    int full = argc > 1 && strcmp(argv[1], "--full") == 0;
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("freeport: socket");
        return 1;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("freeport: bind");
        close(fd);
        return 1;
    }
    if (full) {
        if (listen(fd, 0) != 0 || fill_accept_queue(ntohs(addr.sin_port)) != 0) {
            perror("freeport: cannot fill the accept queue");
            return 1;
        }
        printf("%u\n", (unsigned)ntohs(addr.sin_port));
        fflush(stdout);
        for (;;)
            pause();
    }
    printf("%u\n", (unsigned)ntohs(addr.sin_port));
    close(fd);
    return 0;
}
