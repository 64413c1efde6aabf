/* freeport: print a TCP port that is free on 127.0.0.1 right now.
 *
 * The kernel picks it (bind to port 0); the socket is closed again before the
 * port is printed, so another process may take it before the test's server
 * binds it. The harness (lib.sh) therefore retries with a new port when a
 * server fails to start listening. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
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
    printf("%u\n", (unsigned)ntohs(addr.sin_port));
    close(fd);
    return 0;
}
