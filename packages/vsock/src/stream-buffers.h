// Socket buffers of a relay's stream ends in offload framing.
#pragma once

#include <cstddef>

namespace arca {

/**
 * Bytes asked for as the send and receive buffer of an offload stream end:
 * `ARCA_NET_STREAM_BUFFER` (read once per process; 0 leaves the kernel's
 * defaults), by default kDefaultStreamBuffer, capped at 64 MiB.
 */
size_t StreamBufferBytes();

constexpr size_t kDefaultStreamBuffer = 1024 * 1024;

/**
 * Raises the buffers of stream socket `fd` to `bytes`: SO_SNDBUFFORCE /
 * SO_RCVBUFFORCE (SO_SNDBUF / SO_RCVBUF without CAP_NET_ADMIN, up to
 * wmem_max / rmem_max) for AF_UNIX, SO_VM_SOCKETS_BUFFER_MAX_SIZE and
 * SO_VM_SOCKETS_BUFFER_SIZE for AF_VSOCK. Best effort: a socket that refuses
 * keeps its buffers, and the relay works the same, only with more wake-ups.
 *
 * Why: an offload unit is up to 64 KiB, and an AF_UNIX stream holds what its
 * sender's SO_SNDBUF allows (net.core.wmem_default, 208 KiB: three units;
 * AF_VSOCK: 256 KiB by default). Each hop then stalls every third segment,
 * and each stall costs a wake-up on both sides of it.
 */
void RaiseStreamBuffers(int fd, size_t bytes);

}  // namespace arca
