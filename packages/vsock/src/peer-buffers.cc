#include "peer-buffers.h"

#include <dirent.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "unique_fd.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

namespace arca {

namespace {
SysResult Err(const char* syscall) {
  SysResult r;
  r.err = errno;
  r.syscall = syscall;
  return r;
}
}  // namespace

SysResult RaisePacketReceiveBuffers(int pid, int bytes, int& raised) {
  raised = 0;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return Err("pidfd_open");
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Err("opendir");
  SysResult result;
  while (dirent* entry = ::readdir(d)) {
    char* end = nullptr;
    long target = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    char link[64];
    std::string path = dir + "/" + entry->d_name;
    ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
    if (n <= 0) continue;
    link[n] = '\0';
    if (std::strncmp(link, "socket:", 7) != 0) continue;
    UniqueFd local(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), target, 0)));
    if (!local) {
      if (errno == EPERM || errno == EACCES) {
        result = Err("pidfd_getfd");
        break;
      }
      continue;  // closed meanwhile
    }
    int domain = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(local.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
        domain != AF_PACKET) {
      continue;
    }
    int current = 0;
    len = sizeof current;
    if (::getsockopt(local.get(), SOL_SOCKET, SO_RCVBUF, &current, &len) == 0 &&
        current >= bytes) {
      continue;
    }
    int half = bytes / 2;  // the kernel doubles what it is given (bookkeeping overhead)
    if (::setsockopt(local.get(), SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof half) != 0) {
      result = Err("setsockopt(SO_RCVBUFFORCE)");
      break;
    }
    raised++;
  }
  ::closedir(d);
  return result;
}

}  // namespace arca
