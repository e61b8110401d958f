/*
 * A UDP echo server for the conformance suite (busybox-static has no UDP
 * server applet): `udp-echo PORT` answers every datagram on 0.0.0.0:PORT with
 * "udp-echo: " and the datagram. Built static by conformance.test.ts, so the
 * same file runs in the suite's busybox image and in a lab container.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: udp-echo PORT\n");
    return 2;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)atoi(argv[1]));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    perror("udp-echo");
    return 1;
  }
  for (;;) {
    char in[512], out[600];
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    ssize_t n = recvfrom(fd, in, sizeof in - 1, 0, (struct sockaddr *)&peer, &len);
    if (n < 0) continue;
    in[n] = '\0';
    int m = snprintf(out, sizeof out, "udp-echo: %s", in);
    sendto(fd, out, (size_t)m, 0, (struct sockaddr *)&peer, len);
  }
}
