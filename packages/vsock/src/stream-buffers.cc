#include "stream-buffers.h"

#include <sys/socket.h>
#include <linux/vm_sockets.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace arca {

namespace {
constexpr size_t kMaxStreamBuffer = 64 * 1024 * 1024;

void SetBuffer(int fd, int force, int plain, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) != 0) {
    (void)::setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof bytes);
  }
}
}  // namespace

size_t StreamBufferBytes() {
  static const size_t bytes = [] {
    const char* text = std::getenv("ARCA_NET_STREAM_BUFFER");
    if (text == nullptr || *text == '\0') return kDefaultStreamBuffer;
    char* end = nullptr;
    unsigned long long value = std::strtoull(text, &end, 10);
    if (end == nullptr || *end != '\0') return kDefaultStreamBuffer;
    return static_cast<size_t>(std::min<unsigned long long>(value, kMaxStreamBuffer));
  }();
  return bytes;
}

void RaiseStreamBuffers(int fd, size_t bytes) {
  if (bytes == 0) return;
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return;
  if (address.ss_family == AF_VSOCK) {
    // MAX first: the kernel clamps SO_VM_SOCKETS_BUFFER_SIZE to it (256 KiB by default).
    // test/vsock-qemu reads both back on real AF_VSOCK in the QEMU guest.
    uint64_t size = bytes;
    (void)::setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &size, sizeof size);
    (void)::setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &size, sizeof size);
    return;
  }
  int size = static_cast<int>(bytes);
  SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, size);
  SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, size);
}

}  // namespace arca
