// Reads the AF_VSOCK buffer options of sockets held by another process, like
// `ss` would if vsock_diag reported them (it does not): test/vsock-qemu copies
// the fds with pidfd_getfd(2) (root in the guest) and asks getsockopt(2).
// Compiled on the host by vsock-in-guest.test.ts and run inside the QEMU guest.
//
// usage: vsock-sockopt PID FD...
// prints one JSON object per FD on its own line:
//   {"fd":N,"domain":40,"bufferSize":B,"bufferMinSize":B,"bufferMaxSize":B}
//   {"fd":N,"error":"pidfd_getfd: ..."}
// exit 0 when every FD was read, 1 otherwise, 2 on bad usage.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int fail(long fd, const char* what) {
  printf("{\"fd\":%ld,\"error\":\"%s: %s\"}\n", fd, what, strerror(errno));
  return 1;
}

static int option(int fd, int name, uint64_t* value) {
  socklen_t length = sizeof *value;
  return getsockopt(fd, AF_VSOCK, name, value, &length);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PID FD...\n", argv[0]);
    return 2;
  }
  int pidfd = (int)syscall(SYS_pidfd_open, atol(argv[1]), 0);
  if (pidfd < 0) {
    perror("pidfd_open");
    return 1;
  }
  int rc = 0;
  for (int i = 2; i < argc; i++) {
    long target = atol(argv[i]);
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)target, 0);
    if (fd < 0) {
      rc |= fail(target, "pidfd_getfd");
      continue;
    }
    int domain = -1;
    socklen_t length = sizeof domain;
    uint64_t size = 0, min = 0, max = 0;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0) {
      rc |= fail(target, "getsockopt(SO_DOMAIN)");
    } else if (option(fd, SO_VM_SOCKETS_BUFFER_SIZE, &size) != 0) {
      rc |= fail(target, "getsockopt(SO_VM_SOCKETS_BUFFER_SIZE)");
    } else if (option(fd, SO_VM_SOCKETS_BUFFER_MIN_SIZE, &min) != 0) {
      rc |= fail(target, "getsockopt(SO_VM_SOCKETS_BUFFER_MIN_SIZE)");
    } else if (option(fd, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &max) != 0) {
      rc |= fail(target, "getsockopt(SO_VM_SOCKETS_BUFFER_MAX_SIZE)");
    } else {
      printf("{\"fd\":%ld,\"domain\":%d,\"bufferSize\":%llu,\"bufferMinSize\":%llu,\"bufferMaxSize\":%llu}\n",
             target, domain, (unsigned long long)size, (unsigned long long)min,
             (unsigned long long)max);
    }
    close(fd);
  }
  close(pidfd);
  return rc;
}
